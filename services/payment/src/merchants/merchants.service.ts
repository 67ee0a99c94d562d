import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { newId, type ApiScope } from '@admit/contracts';
import { appendToOutbox, type Logger } from '@admit/messaging';
import { AdmitError, hashSecret, LOGGER, type Principal } from '@admit/service-kit';
import { KnownFacts } from '../known/known-facts';
import { WALLET } from '../wallet.provider';
import type { WalletGateway } from '../wallet';
import type { CreateMerchant } from './merchants.dto';

type MerchantRow = {
  id: string;
  name: string;
  country: string;
  city: string;
  timezone: string;
  mcc: string;
  settlement_currency: string;
  wallet_registration: 'pending' | 'registered' | 'failed';
  created_at: Date;
};

export function toMerchant(r: MerchantRow) {
  return {
    id: r.id,
    name: r.name,
    country: r.country,
    city: r.city,
    timezone: r.timezone,
    mcc: r.mcc,
    settlementCurrency: r.settlement_currency,
    walletRegistration: r.wallet_registration,
    createdAt: new Date(r.created_at).toISOString(),
  };
}

/** A new secret: 256 random bits, prefixed so leaked keys are recognisable by scanners. */
function newSecret(scope: ApiScope): string {
  return `admit_${scope === 'gate' ? 'gk' : 'sk'}_${randomBytes(32).toString('base64url')}`;
}

@Injectable()
export class MerchantsService {
  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(WALLET) private readonly wallet: WalletGateway,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly known: KnownFacts,
  ) {}

  async onboard(input: CreateMerchant) {
    const id = newId('merchant');
    const result = await this.ds.transaction(async (m) => {
      const [row] = (await m.query(
        `INSERT INTO merchants (id, name, country, city, timezone, mcc, settlement_currency)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [id, input.name, input.country, input.city, input.timezone, input.mcc, input.settlementCurrency],
      )) as MerchantRow[];
      if (!row) throw new Error('insert returned nothing');
      const merchant = toMerchant(row);
      await appendToOutbox(m, {
        type: 'merchant.onboarded',
        aggregateId: id,
        merchantId: id,
        payload: {
          merchantId: id,
          name: merchant.name,
          country: merchant.country,
          city: merchant.city,
          timezone: merchant.timezone,
          mcc: merchant.mcc,
          settlementCurrency: input.settlementCurrency,
          createdAt: merchant.createdAt,
        },
      });
      const apiKey = await this.issueKey(m, id, 'merchant', null);
      return { merchant, apiKey };
    });
    const registration = await this.registerWithWallet(id, input);
    return { ...result.merchant, walletRegistration: registration, apiKey: result.apiKey };
  }

  /** Registers the merchant as the wallet's secondary merchant (one store: its main ticket office). */
  private async registerWithWallet(id: string, input: CreateMerchant): Promise<'registered' | 'failed' | 'pending'> {
    const outcome = await this.wallet.registerMerchant({
      id,
      name: input.name,
      mcc: input.mcc,
      storeId: `${id}_main`,
      storeName: `${input.name} ticket office`,
      country: input.country,
      address: input.city,
    });
    const status = outcome.kind === 'registered' ? 'registered' : outcome.kind === 'failed' ? 'failed' : 'pending';
    const error =
      outcome.kind === 'failed'
        ? `${outcome.walletCode}: ${outcome.message}`
        : outcome.kind === 'unknown'
          ? outcome.reason
          : null;
    if (status !== 'registered') this.logger.warn({ merchantId: id, outcome }, 'wallet registration not confirmed');
    await this.ds.query(`UPDATE merchants SET wallet_registration = $2, wallet_registration_error = $3 WHERE id = $1`, [
      id,
      status,
      error,
    ]);
    return status;
  }

  async issueKey(m: EntityManager, merchantId: string, scope: ApiScope, attractionId: string | null) {
    const keyId = newId('apiKey');
    const secret = newSecret(scope);
    const secretHash = hashSecret(secret);
    const createdAt = new Date().toISOString();
    await m.query(
      `INSERT INTO api_keys (key_id, merchant_id, scope, attraction_id, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [keyId, merchantId, scope, attractionId, secretHash, createdAt],
    );
    await appendToOutbox(m, {
      type: 'api_key.issued',
      aggregateId: merchantId,
      merchantId,
      payload: { keyId, merchantId, scope, attractionId, secretHash, createdAt },
    });
    return { id: keyId, secret, scope, merchantId, attractionId, createdAt };
  }

  async createKey(principal: Principal, merchantId: string, scope: 'merchant' | 'gate', attractionId: string | null) {
    await this.get(principal, merchantId);
    // A gate key only for the merchant's own attraction (another's answers like an unknown one).
    if (attractionId && !(await this.known.ownsAttraction(merchantId, attractionId))) {
      throw AdmitError.notFound('attraction');
    }
    return this.ds.transaction(async (m) => {
      // Lock the merchant so its events stay in order on the merchants stream.
      await m.query('SELECT 1 FROM merchants WHERE id = $1 FOR UPDATE', [merchantId]);
      return this.issueKey(m, merchantId, scope, attractionId);
    });
  }

  async revokeKey(principal: Principal, keyId: string) {
    return this.ds.transaction(async (m) => {
      const rows = (await m.query(
        `SELECT key_id, merchant_id, scope, revoked_at FROM api_keys WHERE key_id = $1 FOR UPDATE`,
        [keyId],
      )) as {
        key_id: string;
        merchant_id: string | null;
        scope: ApiScope;
        revoked_at: Date | null;
      }[];
      const key = rows[0];
      if (!key || !key.merchant_id || (principal.scope !== 'acquirer' && principal.merchantId !== key.merchant_id)) {
        throw AdmitError.notFound('API key');
      }
      if (!key.revoked_at) {
        const revokedAt = new Date().toISOString();
        await m.query(`UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1`, [keyId, revokedAt]);
        await appendToOutbox(m, {
          type: 'api_key.revoked',
          aggregateId: key.merchant_id,
          merchantId: key.merchant_id,
          payload: { keyId, merchantId: key.merchant_id, revokedAt },
        });
      }
      return { id: keyId, revoked: true };
    });
  }

  async get(principal: Principal, id: string) {
    if (principal.scope !== 'acquirer' && principal.merchantId !== id) throw AdmitError.notFound('merchant');
    const rows = (await this.ds.query('SELECT * FROM merchants WHERE id = $1', [id])) as MerchantRow[];
    const row = rows[0];
    if (!row) throw AdmitError.notFound('merchant');
    return toMerchant(row);
  }

  async list(principal: Principal, limit: number, after: string | null) {
    const rows = (await this.ds.query(
      `SELECT * FROM merchants WHERE ($1::text IS NULL OR id = $1) AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [principal.scope === 'acquirer' ? null : principal.merchantId, after, limit + 1],
    )) as MerchantRow[];
    return rows.map(toMerchant);
  }
}
