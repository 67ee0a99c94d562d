import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { newId, type Currency, type EventPayload, type Money } from '@admit/contracts';
import { appendToOutbox, currentFlow, type Logger } from '@admit/messaging';
import { AdmitError, isUniqueViolation, LOGGER, type Principal } from '@admit/service-kit';
import type { PaymentSettings } from '../config';
import type { PaymentMetrics } from '../metrics';
import { rowsOf, type PaymentRow } from '../payments/payment-row';
import { leaseMs, PAYMENT_METRICS, PAYMENT_SETTINGS } from '../tokens';
import type { RefundResult, WalletGateway } from '../wallet';
import { WALLET } from '../wallet.provider';
import { checkRefund, decideAfterRefund, refundTotals } from './refund-rules';
import type { CreateRefund } from './refunds.dto';

export type RefundRow = {
  id: string;
  payment_id: string;
  merchant_id: string;
  order_id: string;
  partner_refund_id: string;
  idempotency_key: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  amount_value: string;
  currency: Currency;
  reason: string | null;
  failure_code: string | null;
  failure_message: string | null;
  next_attempt_at: Date | null;
  claim_token: string | null;
  attempts: number;
  created_at: Date;
  succeeded_at: Date | null;
  correlation_id: string | null;
};

export function toRefund(r: RefundRow) {
  return {
    id: r.id,
    paymentId: r.payment_id,
    merchantId: r.merchant_id,
    status: r.status,
    amount: { value: Number(r.amount_value), currency: r.currency },
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.failure_code ? { failure: { code: r.failure_code, message: r.failure_message ?? '' } } : {}),
    ...(r.succeeded_at ? { succeededAt: new Date(r.succeeded_at).toISOString() } : {}),
    createdAt: new Date(r.created_at).toISOString(),
  };
}
export type RefundView = ReturnType<typeof toRefund>;

function delay<T>(ms: number, value: T): { promise: Promise<T>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(value), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/**
 * Refunds: partial and repeated, never above the captured amount. The amount rule is enforced in
 * PostgreSQL: the payment row is locked, the sum of its non-failed refunds read, and the refund
 * inserted in the same transaction, so concurrent refunds cannot together exceed the payment.
 * The refund row (its id is the wallet's `partner_refund_id`) is committed before the wallet is
 * called; an unknown outcome is retried by the resolver with the same id (rule 10), which the
 * wallet treats as the same refund.
 */
@Injectable()
export class RefundsService {
  private readonly leaseSeconds: number;

  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(WALLET) private readonly wallet: WalletGateway,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(PAYMENT_SETTINGS) private readonly settings: PaymentSettings,
    @Inject(PAYMENT_METRICS) private readonly metrics: PaymentMetrics,
  ) {
    this.leaseSeconds = leaseMs(settings.wallet.timeoutMs) / 1000;
  }

  async create(
    principal: Principal,
    paymentId: string,
    input: CreateRefund,
    idempotencyKey: string | null,
  ): Promise<{ refund: RefundView; created: boolean }> {
    const id = newId('refund');
    const claimToken = randomUUID();
    let inserted: RefundRow;
    try {
      const result = await this.ds.transaction(async (m) => {
        const payment = rowsOf<PaymentRow>(
          await m.query('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [paymentId]),
        )[0];
        if (!payment || (principal.scope !== 'acquirer' && payment.merchant_id !== principal.merchantId))
          throw AdmitError.notFound('payment');
        if (idempotencyKey) {
          const existing = await this.byIdempotencyKey(m, payment.merchant_id, idempotencyKey);
          if (existing) return { existing, inserted: undefined };
        }
        const committed = (await m.query(
          `SELECT COALESCE(sum(amount_value), 0)::bigint::text AS total FROM refunds WHERE payment_id = $1 AND status <> 'failed'`,
          [paymentId],
        )) as { total: string }[];
        const check = checkRefund(
          {
            status: payment.status,
            amount: { value: Number(payment.amount_value), currency: payment.currency },
            cancelPending: payment.resolve_phase !== null,
          },
          Number(committed[0]?.total ?? 0),
          input.amount,
        );
        if (!check.ok) throw new AdmitError(check.status, check.code, check.message);
        const rows = rowsOf<RefundRow>(
          await m.query(
            `INSERT INTO refunds (id, payment_id, merchant_id, order_id, partner_refund_id, idempotency_key, status, amount_value, currency,
                                  reason, next_attempt_at, claim_token, correlation_id)
             VALUES ($1, $2, $3, $4, $1, $5, 'pending', $6, $7, $8, now() + make_interval(secs => $9), $10, $11)
             RETURNING *`,
            [
              id,
              paymentId,
              payment.merchant_id,
              payment.order_id,
              idempotencyKey,
              input.amount.value,
              input.amount.currency,
              input.reason ?? null,
              this.leaseSeconds,
              claimToken,
              currentFlow()?.correlationId ?? null,
            ],
          ),
        );
        return { inserted: rows[0] as RefundRow };
      });
      if (result.existing) return { refund: this.sameRequestOr422(result.existing, paymentId, input), created: false };
      if (!result.inserted) throw new Error('refund insert returned nothing');
      inserted = result.inserted;
    } catch (err) {
      if (isUniqueViolation(err, 'refunds_idempotency_uq') && idempotencyKey) {
        const owner = (await this.ds.query('SELECT merchant_id FROM payments WHERE id = $1', [paymentId])) as {
          merchant_id: string;
        }[];
        const existing = owner[0]
          ? await this.byIdempotencyKey(this.ds, owner[0].merchant_id, idempotencyKey)
          : undefined;
        if (existing) return { refund: this.sameRequestOr422(existing, paymentId, input), created: false };
      }
      throw err;
    }
    const outcome = this.callWallet(inserted).catch((err: unknown) => {
      this.logger.error({ err, refundId: inserted.id }, 'applying the refund result failed; the resolver retries it');
      return undefined;
    });
    const timer = delay(this.settings.syncWaitMs, 'timeout' as const);
    const first = await Promise.race([outcome, timer.promise]);
    timer.cancel();
    const row = (first !== 'timeout' ? first : undefined) ?? (await this.load(inserted.id)) ?? inserted;
    return { refund: toRefund(row), created: true };
  }

  /**
   * `order.refund_requested` (ticketing could not honour a payment: late and sold out, amount
   * mismatch, order closed): in the inbox transaction, a pending refund of what is still
   * refundable is written for the resolver, which sends it to the wallet at once. One refund per
   * (order, reason), whatever the redeliveries.
   */
  async onRefundRequested(p: EventPayload<'order.refund_requested'>, m: EntityManager): Promise<void> {
    const payment = rowsOf<PaymentRow>(
      await m.query('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [p.paymentId]),
    )[0];
    if (!payment || payment.merchant_id !== p.merchantId || payment.order_id !== p.orderId) {
      this.logger.error({ request: p }, 'refund requested for a payment that does not match; needs an operator');
      return;
    }
    if (payment.status !== 'succeeded') {
      this.logger.warn(
        { paymentId: p.paymentId, status: payment.status },
        'refund requested for a payment that is not captured; nothing to refund',
      );
      return;
    }
    const key = `order-refund-request:${p.orderId}:${p.reason}`;
    if (await this.byIdempotencyKey(m, payment.merchant_id, key)) return;
    const committed = (await m.query(
      `SELECT COALESCE(sum(amount_value), 0)::bigint::text AS total FROM refunds WHERE payment_id = $1 AND status <> 'failed'`,
      [p.paymentId],
    )) as { total: string }[];
    const remaining = Number(payment.amount_value) - Number(committed[0]?.total ?? 0);
    const amount = Math.min(p.amount.value, remaining);
    if (amount <= 0 || p.amount.currency !== payment.currency) {
      this.logger.warn({ request: p, remaining }, 'nothing left to refund for this request');
      return;
    }
    await m.query(
      `INSERT INTO refunds (id, payment_id, merchant_id, order_id, partner_refund_id, idempotency_key, status, amount_value, currency,
                            reason, next_attempt_at, claim_token, correlation_id)
       SELECT $1, $2, $3, $4, $1, $5, 'pending', $6, $7, $8, now(), NULL, $9`,
      [
        newId('refund'),
        p.paymentId,
        payment.merchant_id,
        p.orderId,
        key,
        amount,
        payment.currency,
        `automatic: ${p.reason}`,
        currentFlow()?.correlationId ?? null,
      ],
    );
  }

  private sameRequestOr422(existing: RefundRow, paymentId: string, input: CreateRefund): RefundView {
    if (
      existing.payment_id !== paymentId ||
      Number(existing.amount_value) !== input.amount.value ||
      existing.currency !== input.amount.currency
    ) {
      throw new AdmitError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request.');
    }
    return toRefund(existing);
  }

  private async byIdempotencyKey(
    m: { query: DataSource['query'] },
    merchantId: string,
    key: string,
  ): Promise<RefundRow | undefined> {
    const rows = (await m.query('SELECT * FROM refunds WHERE merchant_id = $1 AND idempotency_key = $2', [
      merchantId,
      key,
    ])) as RefundRow[];
    return rows[0];
  }

  async get(principal: Principal, id: string): Promise<RefundView> {
    const row = await this.load(id);
    if (!row || (principal.scope !== 'acquirer' && row.merchant_id !== principal.merchantId))
      throw AdmitError.notFound('refund');
    return toRefund(row);
  }

  async listForPayment(principal: Principal, paymentId: string): Promise<RefundView[]> {
    const payment = (await this.ds.query('SELECT merchant_id FROM payments WHERE id = $1', [paymentId])) as {
      merchant_id: string;
    }[];
    if (!payment[0] || (principal.scope !== 'acquirer' && payment[0].merchant_id !== principal.merchantId))
      throw AdmitError.notFound('payment');
    const rows = (await this.ds.query('SELECT * FROM refunds WHERE payment_id = $1 ORDER BY id', [
      paymentId,
    ])) as RefundRow[];
    return rows.map(toRefund);
  }

  async load(id: string): Promise<RefundRow | undefined> {
    const rows = (await this.ds.query('SELECT * FROM refunds WHERE id = $1', [id])) as RefundRow[];
    return rows[0];
  }

  async byPartnerRefundId(partnerRefundId: string): Promise<RefundRow | undefined> {
    const rows = (await this.ds.query('SELECT * FROM refunds WHERE partner_refund_id = $1', [
      partnerRefundId,
    ])) as RefundRow[];
    return rows[0];
  }

  /** Makes a pending refund due now (a wallet notification hinted at its result). */
  async nudge(id: string): Promise<void> {
    await this.ds.query(
      `UPDATE refunds SET next_attempt_at = now() WHERE id = $1 AND status = 'pending' AND claim_token IS NULL`,
      [id],
    );
  }

  /** Claims up to `limit` due pending refunds (SKIP LOCKED + lease, like payments). */
  async claimDue(limit: number): Promise<RefundRow[]> {
    if (limit <= 0) return [];
    return rowsOf<RefundRow>(
      await this.ds.query(
        `WITH due AS (
           SELECT id FROM refunds WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
         )
         UPDATE refunds r SET next_attempt_at = now() + make_interval(secs => $2), claim_token = gen_random_uuid()
           FROM due WHERE r.id = due.id
         RETURNING r.*`,
        [limit, this.leaseSeconds],
      ),
    );
  }

  /** The resolver's visit of a claimed refund: send it again with the same partner_refund_id. */
  async retryClaimed(row: RefundRow): Promise<void> {
    if (row.status !== 'pending') {
      await this.ds.query(
        `UPDATE refunds SET next_attempt_at = NULL, claim_token = NULL WHERE id = $1 AND claim_token = $2`,
        [row.id, row.claim_token],
      );
      return;
    }
    await this.callWallet(row);
  }

  private async callWallet(row: RefundRow): Promise<RefundRow | undefined> {
    const payment = (await this.ds.query('SELECT partner_trans_id FROM payments WHERE id = $1', [row.payment_id])) as {
      partner_trans_id: string;
    }[];
    const partnerTransId = payment[0]?.partner_trans_id;
    if (!partnerTransId) throw new Error(`refund ${row.id}: payment ${row.payment_id} missing`);
    const result = await this.wallet.refund({
      partnerTransId,
      partnerRefundId: row.partner_refund_id,
      amount: { value: Number(row.amount_value), currency: row.currency },
      ...(row.reason ? { reason: row.reason } : {}),
    });
    this.metrics.walletCalls.inc({ op: 'refund', outcome: result.kind });
    return this.apply(row, result, row.attempts + 1);
  }

  /** Stores the wallet's answer to attempt number `attemptsDone`; final transitions are guarded by `status = 'pending'`. */
  private async apply(row: RefundRow, result: RefundResult, attemptsDone: number): Promise<RefundRow | undefined> {
    const d = decideAfterRefund(result, attemptsDone, new Date());
    switch (d.kind) {
      case 'succeeded':
        return this.markSucceeded(row, d.result);
      case 'failed':
        return this.markFailed(row, d.code, d.message);
      case 'retry': {
        const rows = rowsOf<RefundRow>(
          await this.ds.query(
            `UPDATE refunds SET next_attempt_at = $3, attempts = $4, claim_token = NULL, updated_at = now(),
                    alarmed_at = CASE WHEN $5 THEN now() ELSE alarmed_at END
              WHERE id = $1 AND claim_token = $2 AND status = 'pending' RETURNING *`,
            [row.id, row.claim_token, d.at, attemptsDone, d.alarm],
          ),
        );
        this.logger.warn(
          { refundId: row.id, attempt: attemptsDone, reason: d.reason, retryAt: d.at.toISOString() },
          'refund outcome unknown; retrying with the same partner_refund_id',
        );
        if (d.alarm) {
          this.metrics.alarms.inc({ kind: 'refund' });
          this.logger.error(
            { refundId: row.id, paymentId: row.payment_id, attempts: attemptsDone, alarm: 'refund_unresolved' },
            'ALARM: refund still unknown after repeated attempts; still retrying',
          );
        }
        return rows[0] ?? this.load(row.id);
      }
    }
  }

  private async markSucceeded(
    row: RefundRow,
    result: Extract<RefundResult, { kind: 'succeeded' }>,
  ): Promise<RefundRow | undefined> {
    return this.ds.transaction(async (m) => {
      // Lock order payment → refund, as in create().
      const payment = rowsOf<PaymentRow>(
        await m.query('SELECT * FROM payments WHERE id = $1 FOR UPDATE', [row.payment_id]),
      )[0];
      if (!payment) throw new Error(`refund ${row.id}: payment ${row.payment_id} missing`);
      const settlement: Money | null = result.settlementAmount ?? null;
      const done = rowsOf<RefundRow>(
        await m.query(
          `UPDATE refunds SET status = 'succeeded', succeeded_at = now(), wallet_transaction_id = $2, exchange_rate = $3,
                  settlement_value = $4, settlement_currency = $5, next_attempt_at = NULL, claim_token = NULL, updated_at = now()
            WHERE id = $1 AND status = 'pending' RETURNING *`,
          [
            row.id,
            result.walletTransactionId ?? null,
            result.exchangeRate ?? null,
            settlement?.value ?? null,
            settlement?.currency ?? null,
          ],
        ),
      )[0];
      if (!done) return this.load(row.id);
      const amount: Money = { value: Number(done.amount_value), currency: done.currency };
      const paymentAmount: Money = { value: Number(payment.amount_value), currency: payment.currency };
      const totals = refundTotals(paymentAmount, Number(payment.refunded_value), amount);
      await m.query(`UPDATE payments SET refunded_value = $2, updated_at = now() WHERE id = $1`, [
        payment.id,
        totals.refundedTotal.value,
      ]);
      await appendToOutbox(m, {
        type: 'refund.succeeded',
        aggregateId: payment.id,
        merchantId: payment.merchant_id,
        payload: {
          refundId: done.id,
          paymentId: payment.id,
          orderId: payment.order_id,
          merchantId: payment.merchant_id,
          amount,
          refundedTotal: totals.refundedTotal,
          fullyRefunded: totals.fullyRefunded,
          partnerRefundId: done.partner_refund_id,
          succeededAt: new Date(done.succeeded_at ?? Date.now()).toISOString(),
        },
      });
      this.logger.info(
        { refundId: done.id, paymentId: payment.id, refundedTotal: totals.refundedTotal.value },
        'refund succeeded',
      );
      return done;
    });
  }

  private async markFailed(row: RefundRow, code: string, message: string): Promise<RefundRow | undefined> {
    return this.ds.transaction(async (m) => {
      const done = rowsOf<RefundRow>(
        await m.query(
          `UPDATE refunds SET status = 'failed', failure_code = $2, failure_message = $3, failed_at = now(),
                  next_attempt_at = NULL, claim_token = NULL, updated_at = now()
            WHERE id = $1 AND status = 'pending' RETURNING *`,
          [row.id, code, message],
        ),
      )[0];
      if (!done) return this.load(row.id);
      await appendToOutbox(m, {
        type: 'refund.failed',
        aggregateId: done.payment_id,
        merchantId: done.merchant_id,
        payload: {
          refundId: done.id,
          paymentId: done.payment_id,
          orderId: done.order_id,
          merchantId: done.merchant_id,
          amount: { value: Number(done.amount_value), currency: done.currency },
          failure: { code, message },
          failedAt: new Date().toISOString(),
        },
      });
      this.logger.warn({ refundId: done.id, code }, 'refund failed');
      return done;
    });
  }
}
