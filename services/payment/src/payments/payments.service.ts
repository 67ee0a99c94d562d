import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { newId } from '@admit/contracts';
import { currentFlow, type Logger } from '@admit/messaging';
import { AdmitError, isUniqueViolation, LOGGER, type Principal } from '@admit/service-kit';
import type { PaymentSettings } from '../config';
import { KnownFacts } from '../known/known-facts';
import { PAYMENT_SETTINGS } from '../tokens';
import { WALLET } from '../wallet.provider';
import type { PayInput, PayResult, WalletGateway } from '../wallet';
import type { CreatePayment } from './payments.dto';
import { PaymentResolver } from './payment-resolver';
import { rowsOf, toPayment, type PaymentRow, type PaymentView } from './payment-row';
import { PaymentStore } from './payment-store';
import { firstQueryAt } from './resolution';

export { PAYMENT_SETTINGS } from '../tokens';
export { toPayment, type PaymentView } from './payment-row';

/** Resolves after `ms` with `value`; the timer is cleared by the returned `cancel`. */
function delay<T>(ms: number, value: T): { promise: Promise<T>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

@Injectable()
export class PaymentsService {
  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(WALLET) private readonly wallet: WalletGateway,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(PAYMENT_SETTINGS) private readonly settings: PaymentSettings,
    private readonly store: PaymentStore,
    private readonly resolver: PaymentResolver,
    private readonly known: KnownFacts,
  ) {}

  /**
   * Captures a scanned payment code. The payment row, with its partner_trans_id, is committed
   * before the wallet is called (client rule 1), so a crash can always be resolved by query; the
   * partial unique index allows one live payment per order and the (merchant, Idempotency-Key)
   * constraint makes a retried request find its first payment instead of charging again.
   *
   * The order must be known from ticketing's events and belong to the merchant (waiting up to
   * PAYMENT_ORDER_WAIT_MS for it), else 404 with nothing written and no wallet call; a payment in
   * another currency than the order's is refused (422 CURRENCY_MISMATCH).
   *
   * The row is inserted already claimed by this request (a lease on `next_attempt_at`): if the
   * process dies during the wallet call, the lease expires and the resolver takes over.
   */
  async capture(
    principal: Principal,
    input: CreatePayment,
    idempotencyKey: string | null,
  ): Promise<{ payment: PaymentView; created: boolean }> {
    const merchantId = principal.merchantId;
    if (!merchantId) throw new AdmitError(403, 'FORBIDDEN', 'Only a merchant key can capture payments.');
    const merchant = (await this.ds.query('SELECT id, name, mcc FROM merchants WHERE id = $1', [merchantId])) as {
      id: string;
      name: string;
      mcc: string;
    }[];
    const m = merchant[0];
    if (!m) throw AdmitError.notFound('merchant');
    if (idempotencyKey) {
      const existing = await this.byIdempotencyKey(merchantId, idempotencyKey);
      if (existing) return { payment: existing, created: false };
    }
    // The order must be this merchant's (another merchant's answers exactly like an unknown one).
    // Its amount is not compared: coupons change what is due later; ticketing flags mismatches.
    const order = await this.known.orderOf(merchantId, input.orderId);
    if (!order) throw AdmitError.notFound('order');
    if (order.currency !== input.amount.currency) {
      throw AdmitError.unprocessable(
        'CURRENCY_MISMATCH',
        `The order is priced in ${order.currency}; pay it in that currency.`,
      );
    }
    const id = newId('payment');
    const partnerTransId = id; // one payment row = one wallet trade id, forever
    const claimToken = randomUUID();
    let row: PaymentRow;
    try {
      const rows = (await this.ds.query(
        `INSERT INTO payments (id, merchant_id, order_id, idempotency_key, partner_trans_id, status, amount_value, currency,
                               payment_code_last4, description, store_id, wallet, resolve_phase, next_attempt_at, claim_token, correlation_id)
         VALUES ($1, $2, $3, $4, $5, 'processing', $6, $7, $8, $9, $10, $11, 'query', now() + make_interval(secs => $12), $13, $14)
         RETURNING *`,
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
          this.store.leaseMs / 1000,
          claimToken,
          currentFlow()?.correlationId ?? null,
        ],
      )) as PaymentRow[];
      row = rows[0] as PaymentRow;
    } catch (err) {
      if (isUniqueViolation(err, 'payments_idempotency_uq') && idempotencyKey) {
        const existing = await this.byIdempotencyKey(merchantId, idempotencyKey);
        if (existing) return { payment: existing, created: false };
      }
      if (isUniqueViolation(err, 'payments_one_live_per_order_uq')) {
        const live = (await this.ds.query(
          `SELECT status FROM payments WHERE order_id = $1 AND status IN ('processing','succeeded')`,
          [input.orderId],
        )) as { status: string }[];
        if (live[0]?.status === 'succeeded')
          throw AdmitError.conflict('ORDER_ALREADY_PAID', 'This order already has a succeeded payment.');
        throw AdmitError.conflict('PAYMENT_IN_PROGRESS', 'Another payment for this order is being processed.');
      }
      throw err;
    }
    const final = await this.payWithin(this.settings.syncWaitMs, row, {
      partnerTransId,
      amount: input.amount,
      paymentCode: input.paymentCode,
      subject: input.description ?? `${m.name} tickets`,
      merchant: { id: m.id, name: m.name, mcc: m.mcc, ...(input.storeId ? { storeId: input.storeId } : {}) },
    });
    return { payment: toPayment(final), created: true };
  }

  /**
   * Calls `pay` and waits up to `ms` for its outcome. Past that the request answers
   * `processing` and the payment goes to the resolver at once; the wallet call keeps running and
   * its answer, when it comes, is applied like any other (the transitions are guarded).
   */
  private async payWithin(ms: number, row: PaymentRow, input: PayInput): Promise<PaymentRow> {
    const outcome = this.wallet
      .pay(input)
      .then((result) => this.afterPay(row, result))
      .catch((err: unknown) => {
        this.logger.error(
          { err, paymentId: row.id },
          'applying the pay result failed; the resolver will finish the payment',
        );
        return undefined;
      });
    const timer = delay(ms, 'timeout' as const);
    const first = await Promise.race([outcome, timer.promise]);
    timer.cancel();
    if (first === 'timeout') {
      this.logger.info(
        { paymentId: row.id, waitedMs: ms },
        'no final wallet answer within the sync wait; the resolver takes over',
      );
      await this.store.handOff(row, firstQueryAt(new Date(row.created_at)));
      this.resolver.wake();
    }
    return (first !== 'timeout' ? first : undefined) ?? (await this.store.get(row.id)) ?? row;
  }

  private async afterPay(row: PaymentRow, result: PayResult): Promise<PaymentRow | undefined> {
    switch (result.kind) {
      case 'succeeded': {
        const { kind: _kind, ...trade } = result;
        return (await this.store.markSucceeded(row.id, trade, 'sync')) ?? this.store.get(row.id);
      }
      case 'failed':
        this.logger.info(
          { paymentId: row.id, code: result.code, walletCode: result.walletCode },
          'wallet refused the payment',
        );
        return (await this.store.markFailed(row.id, result.code, result.message, 'sync')) ?? this.store.get(row.id);
      case 'unknown':
        this.logger.warn(
          { paymentId: row.id, reason: result.reason },
          'payment outcome unknown; handed to the resolver',
        );
        await this.store.handOff(row, firstQueryAt(new Date(row.created_at)));
        this.resolver.wake();
        return this.store.get(row.id);
    }
  }

  /**
   * Voids a payment (merchant own, acquirer): a processing payment is cancelled instead of being
   * polled further, a succeeded one is reversed by the wallet's cancel (same GMT+8 day only,
   * and only before any refund). Waits up to the sync wait for the wallet's confirmation; after
   * that the resolver keeps retrying and the answer is 202 with `cancellation.status: pending`.
   */
  async cancel(principal: Principal, id: string): Promise<{ payment: PaymentView; pending: boolean }> {
    const row = await this.store.get(id);
    if (!row || !this.owns(principal, row)) throw AdmitError.notFound('payment');
    if (row.status === 'cancelled') return { payment: toPayment(row), pending: false };
    if (row.status === 'failed')
      throw AdmitError.conflict('PAYMENT_NOT_CANCELLABLE', 'A failed payment cannot be cancelled.');
    if (row.resolve_phase === 'alarm')
      throw AdmitError.conflict('PAYMENT_UNDER_REVIEW', 'This payment is under manual review.');
    const requested = await this.ds.transaction(async (m) => {
      const locked = (await m.query('SELECT status FROM payments WHERE id = $1 FOR UPDATE', [id])) as {
        status: string;
      }[];
      if (locked[0]?.status === 'succeeded') {
        const refunds = (await m.query(
          `SELECT count(*)::int AS n FROM refunds WHERE payment_id = $1 AND status <> 'failed'`,
          [id],
        )) as { n: number }[];
        if ((refunds[0]?.n ?? 0) > 0) {
          throw AdmitError.conflict(
            'PAYMENT_HAS_REFUNDS',
            'A payment with refunds cannot be cancelled; refund the rest instead.',
          );
        }
      }
      return this.store.requestCancel(m, id);
    });
    if (!requested) {
      // The payment reached a final state between the read and the lock: answer from that state.
      const now = await this.store.get(id);
      if (now?.status === 'cancelled') return { payment: toPayment(now), pending: false };
      throw AdmitError.conflict(
        'PAYMENT_NOT_CANCELLABLE',
        `A ${now?.status ?? 'missing'} payment cannot be cancelled.`,
      );
    }
    const claimed = await this.store.claimOne(id);
    if (claimed) {
      const work = this.resolver.cancelStep(claimed).catch((err: unknown) => {
        this.logger.error({ err, paymentId: id }, 'cancel failed; the resolver retries it');
        return undefined;
      });
      const timer = delay(this.settings.syncWaitMs, 'timeout' as const);
      await Promise.race([work, timer.promise]);
      timer.cancel();
    }
    const now = (await this.store.get(id)) as PaymentRow;
    if (now.status === 'succeeded' && now.resolve_phase === null && now.cancel_failure_code) {
      throw AdmitError.conflict(
        now.cancel_failure_code,
        now.cancel_failure_message ?? 'The wallet refused the cancel.',
      );
    }
    return { payment: toPayment(now), pending: now.status === 'processing' || now.status === 'succeeded' };
  }

  private owns(principal: Principal, row: { merchant_id: string }): boolean {
    return principal.scope === 'acquirer' || row.merchant_id === principal.merchantId;
  }

  private async byIdempotencyKey(merchantId: string, key: string): Promise<PaymentView | null> {
    const rows = (await this.ds.query('SELECT * FROM payments WHERE merchant_id = $1 AND idempotency_key = $2', [
      merchantId,
      key,
    ])) as PaymentRow[];
    return rows[0] ? toPayment(rows[0]) : null;
  }

  async get(principal: Principal, id: string): Promise<PaymentView> {
    const row = await this.store.get(id);
    if (!row || !this.owns(principal, row)) throw AdmitError.notFound('payment');
    return toPayment(row);
  }

  async list(
    principal: Principal,
    q: {
      limit: number;
      orderId?: string | undefined;
      status?: string | undefined;
      createdFrom?: string | undefined;
      createdTo?: string | undefined;
    },
    after: string | null,
  ): Promise<PaymentView[]> {
    const rows = rowsOf<PaymentRow>(
      await this.ds.query(
        `SELECT * FROM payments
          WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR order_id = $2) AND ($3::text IS NULL OR status = $3)
            AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
            AND ($6::text IS NULL OR id > $6)
          ORDER BY id LIMIT $7`,
        [
          principal.scope === 'acquirer' ? null : principal.merchantId,
          q.orderId ?? null,
          q.status ?? null,
          q.createdFrom ?? null,
          q.createdTo ?? null,
          after,
          q.limit + 1,
        ],
      ),
    );
    return rows.map(toPayment);
  }
}
