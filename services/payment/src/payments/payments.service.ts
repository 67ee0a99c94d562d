import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { newId, type Currency, type Money } from '@admit/contracts';
import { appendToOutbox, type Logger } from '@admit/messaging';
import { AdmitError, isUniqueViolation, LOGGER, type Principal } from '@admit/service-kit';
import type { PaymentSettings } from '../config';
import { WALLET } from '../wallet.provider';
import type { PayResult, WalletGateway } from '../wallet';
import type { CreatePayment } from './payments.dto';

export const PAYMENT_SETTINGS = Symbol('PAYMENT_SETTINGS');

type PaymentRow = {
  id: string;
  merchant_id: string;
  order_id: string;
  status: 'processing' | 'succeeded' | 'failed' | 'cancelled';
  amount_value: string;
  currency: Currency;
  partner_trans_id: string;
  wallet_transaction_id: string | null;
  paid_at: Date | null;
  failure_code: string | null;
  failure_message: string | null;
  exchange_rate: string | null;
  settlement_value: string | null;
  settlement_currency: Currency | null;
  refunded_value: string;
  created_at: Date;
  idempotency_key: string | null;
};

export function toPayment(r: PaymentRow) {
  const currency = r.currency;
  return {
    id: r.id,
    orderId: r.order_id,
    merchantId: r.merchant_id,
    status: r.status,
    amount: { value: Number(r.amount_value), currency },
    ...(r.wallet_transaction_id ? { walletTransactionId: r.wallet_transaction_id } : {}),
    ...(r.paid_at ? { paidAt: new Date(r.paid_at).toISOString() } : {}),
    ...(r.failure_code ? { failure: { code: r.failure_code, message: r.failure_message ?? '' } } : {}),
    ...(r.exchange_rate ? { exchangeRate: r.exchange_rate } : {}),
    ...(r.settlement_value !== null && r.settlement_currency
      ? { settlementAmount: { value: Number(r.settlement_value), currency: r.settlement_currency } }
      : {}),
    refundedAmount: { value: Number(r.refunded_value), currency },
    createdAt: new Date(r.created_at).toISOString(),
  };
}
export type PaymentView = ReturnType<typeof toPayment>;

@Injectable()
export class PaymentsService {
  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(WALLET) private readonly wallet: WalletGateway,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(PAYMENT_SETTINGS) private readonly settings: PaymentSettings,
  ) {}

  /**
   * Captures a scanned payment code. The payment row, with its partner_trans_id, is committed
   * before the wallet is called (client rule 1), so a crash can always be resolved by query; the
   * partial unique index allows one live payment per order and the (merchant, Idempotency-Key)
   * constraint makes a retried request find its first payment instead of charging again.
   */
  async capture(principal: Principal, input: CreatePayment, idempotencyKey: string | null): Promise<{ payment: PaymentView; created: boolean }> {
    const merchantId = principal.merchantId;
    if (!merchantId) throw new AdmitError(403, 'FORBIDDEN', 'Only a merchant key can capture payments.');
    const merchant = (await this.ds.query('SELECT id, name, mcc FROM merchants WHERE id = $1', [merchantId])) as { id: string; name: string; mcc: string }[];
    const m = merchant[0];
    if (!m) throw AdmitError.notFound('merchant');
    if (idempotencyKey) {
      const existing = await this.byIdempotencyKey(merchantId, idempotencyKey);
      if (existing) return { payment: existing, created: false };
    }
    const id = newId('payment');
    const partnerTransId = id; // one payment row = one wallet trade id, forever
    let row: PaymentRow;
    try {
      const rows = (await this.ds.query(
        `INSERT INTO payments (id, merchant_id, order_id, idempotency_key, partner_trans_id, status, amount_value, currency,
                               payment_code_last4, description, store_id, wallet)
         VALUES ($1, $2, $3, $4, $5, 'processing', $6, $7, $8, $9, $10, $11) RETURNING *`,
        [
          id,
          merchantId,
          input.orderId,
          idempotencyKey,
          partnerTransId,
          input.amount.value,
          input.amount.currency,
          input.paymentCode.slice(-4),
          input.description ?? null,
          input.storeId ?? null,
          this.wallet.walletName,
        ],
      )) as PaymentRow[];
      row = rows[0] as PaymentRow;
    } catch (err) {
      if (isUniqueViolation(err, 'payments_idempotency_uq') && idempotencyKey) {
        const existing = await this.byIdempotencyKey(merchantId, idempotencyKey);
        if (existing) return { payment: existing, created: false };
      }
      if (isUniqueViolation(err, 'payments_one_live_per_order_uq')) {
        const live = (await this.ds.query(`SELECT status FROM payments WHERE order_id = $1 AND status IN ('processing','succeeded')`, [input.orderId])) as { status: string }[];
        if (live[0]?.status === 'succeeded') throw AdmitError.conflict('ORDER_ALREADY_PAID', 'This order already has a succeeded payment.');
        throw AdmitError.conflict('PAYMENT_IN_PROGRESS', 'Another payment for this order is being processed.');
      }
      throw err;
    }
    const result = await this.payWithin(this.settings.syncWaitMs, {
      partnerTransId,
      amount: input.amount,
      paymentCode: input.paymentCode,
      subject: input.description ?? `${m.name} tickets`,
      merchant: { id: m.id, name: m.name, mcc: m.mcc, ...(input.storeId ? { storeId: input.storeId } : {}) },
    });
    const final = await this.applyPayResult(row, result);
    return { payment: toPayment(final), created: true };
  }

  /** Waits up to `ms` for the wallet; past that the payment stays `processing` for the resolver. */
  private async payWithin(ms: number, input: Parameters<WalletGateway['pay']>[0]): Promise<PayResult> {
    const call = this.wallet.pay(input);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<PayResult>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'unknown', reason: `no final answer within ${ms} ms` }), ms);
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Moves a processing payment to its final state with its event, once (guarded by status). */
  async applyPayResult(row: PaymentRow, result: PayResult): Promise<PaymentRow> {
    if (result.kind === 'unknown') {
      this.logger.warn({ paymentId: row.id, reason: result.reason }, 'payment outcome unknown; left processing for the resolver');
      return row;
    }
    return this.ds.transaction(async (m) => {
      if (result.kind === 'succeeded') {
        const settlement: Money | null = result.settlementAmount ?? null;
        const rows = (await m.query(
          `UPDATE payments SET status = 'succeeded', wallet_transaction_id = $2, paid_at = $3, exchange_rate = $4,
                  settlement_value = $5, settlement_currency = $6, updated_at = now()
            WHERE id = $1 AND status = 'processing' RETURNING *`,
          [row.id, result.walletTransactionId, result.paidAt, result.exchangeRate ?? null, settlement?.value ?? null, settlement?.currency ?? null],
        )) as [PaymentRow[], number] | PaymentRow[];
        const updated = firstRow(rows);
        if (!updated) return this.reload(m, row.id);
        await appendToOutbox(m, {
          type: 'payment.succeeded',
          aggregateId: updated.id,
          merchantId: updated.merchant_id,
          payload: {
            paymentId: updated.id,
            orderId: updated.order_id,
            merchantId: updated.merchant_id,
            amount: { value: Number(updated.amount_value), currency: updated.currency },
            wallet: this.wallet.walletName,
            walletTransactionId: result.walletTransactionId,
            partnerTransId: updated.partner_trans_id,
            paidAt: result.paidAt.toISOString(),
            exchangeRate: result.exchangeRate ?? null,
            settlementAmount: settlement,
          },
        });
        return updated;
      }
      const rows = (await m.query(
        `UPDATE payments SET status = 'failed', failure_code = $2, failure_message = $3, updated_at = now()
          WHERE id = $1 AND status = 'processing' RETURNING *`,
        [row.id, result.code, result.message],
      )) as [PaymentRow[], number] | PaymentRow[];
      const updated = firstRow(rows);
      if (!updated) return this.reload(m, row.id);
      await appendToOutbox(m, {
        type: 'payment.failed',
        aggregateId: updated.id,
        merchantId: updated.merchant_id,
        payload: {
          paymentId: updated.id,
          orderId: updated.order_id,
          merchantId: updated.merchant_id,
          amount: { value: Number(updated.amount_value), currency: updated.currency },
          partnerTransId: updated.partner_trans_id,
          failure: { code: result.code, message: result.message },
          failedAt: new Date().toISOString(),
        },
      });
      return updated;
    });
  }

  private async reload(m: { query: DataSource['query'] }, id: string): Promise<PaymentRow> {
    const rows = (await m.query('SELECT * FROM payments WHERE id = $1', [id])) as PaymentRow[];
    if (!rows[0]) throw new Error(`payment ${id} vanished`);
    return rows[0];
  }

  private async byIdempotencyKey(merchantId: string, key: string): Promise<PaymentView | null> {
    const rows = (await this.ds.query('SELECT * FROM payments WHERE merchant_id = $1 AND idempotency_key = $2', [merchantId, key])) as PaymentRow[];
    return rows[0] ? toPayment(rows[0]) : null;
  }

  async get(principal: Principal, id: string): Promise<PaymentView> {
    const rows = (await this.ds.query('SELECT * FROM payments WHERE id = $1', [id])) as PaymentRow[];
    const row = rows[0];
    if (!row || (principal.scope !== 'acquirer' && row.merchant_id !== principal.merchantId)) throw AdmitError.notFound('payment');
    return toPayment(row);
  }

  async list(
    principal: Principal,
    q: { limit: number; orderId?: string | undefined; status?: string | undefined; createdFrom?: string | undefined; createdTo?: string | undefined },
    after: string | null,
  ): Promise<PaymentView[]> {
    const rows = (await this.ds.query(
      `SELECT * FROM payments
        WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR order_id = $2) AND ($3::text IS NULL OR status = $3)
          AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
          AND ($6::text IS NULL OR id > $6)
        ORDER BY id LIMIT $7`,
      [principal.scope === 'acquirer' ? null : principal.merchantId, q.orderId ?? null, q.status ?? null, q.createdFrom ?? null, q.createdTo ?? null, after, q.limit + 1],
    )) as PaymentRow[];
    return rows.map(toPayment);
  }
}

/** TypeORM's query() returns [rows, count] for UPDATE … RETURNING on postgres. */
function firstRow(result: [PaymentRow[], number] | PaymentRow[]): PaymentRow | undefined {
  if (Array.isArray(result[0])) return (result as [PaymentRow[], number])[0][0];
  return (result as PaymentRow[])[0];
}
