import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { Money } from '@admit/contracts';
import { appendToOutbox, type Logger } from '@admit/messaging';
import { LOGGER } from '@admit/service-kit';
import type { PaymentSettings } from '../config';
import type { PaymentMetrics } from '../metrics';
import { leaseMs, PAYMENT_METRICS, PAYMENT_SETTINGS } from '../tokens';
import type { WalletFailureCode, WalletPaidTrade } from '../wallet';
import { rowsOf, type PaymentRow } from './payment-row';
import type { CancelOutcome, CancelReason } from './resolution';

type Queryable = { query: DataSource['query'] };
export type ResolvedBy = 'sync' | 'query' | 'notification' | 'cancel';

/**
 * Every state change of a payment, each in one transaction with its event in the outbox. Every
 * final transition is an UPDATE guarded by the state it leaves (`status = 'processing'` and the
 * resolver phase), so whichever path gets there first (the capture request, the resolver, a
 * notification, a second replica) moves the payment and publishes the event, exactly once; the
 * others change nothing.
 *
 * The resolver's schedule lives in the row: `next_attempt_at` (due time, or the end of a claim's
 * lease) and `claim_token` (who holds the claim). Schedule writes are guarded by the token.
 */
@Injectable()
export class PaymentStore {
  private readonly leaseSeconds: number;

  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(PAYMENT_SETTINGS) settings: PaymentSettings,
    @Inject(PAYMENT_METRICS) private readonly metrics: PaymentMetrics,
  ) {
    this.leaseSeconds = leaseMs(settings.wallet.timeoutMs) / 1000;
  }

  get leaseMs(): number {
    return this.leaseSeconds * 1000;
  }

  async get(id: string, m: Queryable = this.ds): Promise<PaymentRow | undefined> {
    const rows = (await m.query('SELECT * FROM payments WHERE id = $1', [id])) as PaymentRow[];
    return rows[0];
  }

  async byPartnerTransId(partnerTransId: string): Promise<PaymentRow | undefined> {
    const rows = (await this.ds.query('SELECT * FROM payments WHERE partner_trans_id = $1', [
      partnerTransId,
    ])) as PaymentRow[];
    return rows[0];
  }

  /**
   * Claims up to `limit` due payments for this worker: each gets a fresh claim token and a lease
   * (`next_attempt_at` moved past the time its wallet calls can take). `SKIP LOCKED` keeps two
   * replicas from claiming the same row; an expired lease makes the row due again after a crash.
   */
  async claimDue(limit: number): Promise<PaymentRow[]> {
    if (limit <= 0) return [];
    return rowsOf<PaymentRow>(
      await this.ds.query(
        `WITH due AS (
           SELECT id FROM payments WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
         )
         UPDATE payments p SET next_attempt_at = now() + make_interval(secs => $2), claim_token = gen_random_uuid()
           FROM due WHERE p.id = due.id
         RETURNING p.*`,
        [limit, this.leaseSeconds],
      ),
    );
  }

  /** Unfinished payments and refunds the resolver owns (for the backlog gauge). */
  async backlog(): Promise<{ payments: number; refunds: number }> {
    const rows = (await this.ds.query(
      `SELECT (SELECT count(*) FROM payments WHERE next_attempt_at IS NOT NULL)::int AS payments,
              (SELECT count(*) FROM refunds WHERE next_attempt_at IS NOT NULL)::int AS refunds`,
    )) as { payments: number; refunds: number }[];
    return rows[0] ?? { payments: 0, refunds: 0 };
  }

  /** Claims one payment if it is due (not held by another worker's lease). */
  async claimOne(id: string): Promise<PaymentRow | undefined> {
    return rowsOf<PaymentRow>(
      await this.ds.query(
        `UPDATE payments SET next_attempt_at = now() + make_interval(secs => $2), claim_token = gen_random_uuid()
          WHERE id = $1 AND next_attempt_at <= now()
          RETURNING *`,
        [id, this.leaseSeconds],
      ),
    )[0];
  }

  /** Next resolver visit at `at`, with `attempts` calls made in the phase; only by the claim holder. */
  async schedule(row: PaymentRow, at: Date, attempts: number): Promise<boolean> {
    const rows = rowsOf<{ id: string }>(
      await this.ds.query(
        `UPDATE payments SET next_attempt_at = $3, attempts = $4, claim_token = NULL, updated_at = now()
          WHERE id = $1 AND claim_token = $2 RETURNING id`,
        [row.id, row.claim_token, at, attempts],
      ),
    );
    return rows.length > 0;
  }

  /**
   * The capture request gives its payment to the resolver (the wallet's answer is unknown or
   * slow): first query ~2.5 s after creation, or now if that is past.
   */
  async handOff(row: PaymentRow, firstQueryAt: Date): Promise<void> {
    await this.ds.query(
      `UPDATE payments SET next_attempt_at = GREATEST($3::timestamptz, now()), claim_token = NULL, updated_at = now()
        WHERE id = $1 AND claim_token = $2 AND status = 'processing'`,
      [row.id, row.claim_token, firstQueryAt],
    );
  }

  /** Lets go of a claim with nothing left to do. */
  async release(row: PaymentRow): Promise<void> {
    await this.ds.query(
      `UPDATE payments SET next_attempt_at = NULL, claim_token = NULL WHERE id = $1 AND claim_token = $2`,
      [row.id, row.claim_token],
    );
  }

  /** The query window ended: the resolver switches this payment to cancelling. */
  async enterCancel(row: PaymentRow, reason: CancelReason): Promise<PaymentRow | undefined> {
    return rowsOf<PaymentRow>(
      await this.ds.query(
        `UPDATE payments SET resolve_phase = 'cancel', cancel_reason = $3, attempts = 0, updated_at = now()
          WHERE id = $1 AND claim_token = $2 AND status = 'processing' AND resolve_phase = 'query'
          RETURNING *`,
        [row.id, row.claim_token, reason],
      ),
    )[0];
  }

  /**
   * A merchant (or the acquirer) asks to cancel: a processing payment is cancelled instead of
   * being polled further, a succeeded one is reversed. Takes over any running claim (the old
   * holder's guarded writes then change nothing) and makes the payment due at once.
   */
  async requestCancel(m: EntityManager, id: string): Promise<PaymentRow | undefined> {
    return rowsOf<PaymentRow>(
      await m.query(
        `UPDATE payments SET resolve_phase = 'cancel', cancel_reason = 'merchant',
                cancel_requested_at = COALESCE(cancel_requested_at, now()),
                attempts = CASE WHEN resolve_phase = 'cancel' THEN attempts ELSE 0 END,
                cancel_failure_code = NULL, cancel_failure_message = NULL,
                next_attempt_at = now(), claim_token = NULL, updated_at = now()
          WHERE id = $1 AND ((status = 'processing' AND resolve_phase IN ('query', 'cancel'))
                          OR (status = 'succeeded' AND (resolve_phase IS NULL OR resolve_phase = 'cancel')))
          RETURNING *`,
        [id],
      ),
    )[0];
  }

  /** The payment succeeded (sync answer, query or confirmed notification). */
  async markSucceeded(id: string, trade: WalletPaidTrade, by: ResolvedBy): Promise<PaymentRow | undefined> {
    const settlement: Money | null = trade.settlementAmount ?? null;
    const updated = await this.ds.transaction(async (m) => {
      const row = rowsOf<PaymentRow>(
        await m.query(
          `UPDATE payments SET status = 'succeeded', wallet_transaction_id = $2, paid_at = $3, exchange_rate = $4,
                  settlement_value = $5, settlement_currency = $6, resolved_by = $7,
                  resolve_phase = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now()
            WHERE id = $1 AND status = 'processing' AND resolve_phase = 'query' RETURNING *`,
          [
            id,
            trade.walletTransactionId,
            trade.paidAt,
            trade.exchangeRate ?? null,
            settlement?.value ?? null,
            settlement?.currency ?? null,
            by,
          ],
        ),
      )[0];
      if (!row) return undefined;
      await appendToOutbox(m, {
        type: 'payment.succeeded',
        aggregateId: row.id,
        merchantId: row.merchant_id,
        payload: {
          paymentId: row.id,
          orderId: row.order_id,
          merchantId: row.merchant_id,
          amount: { value: Number(row.amount_value), currency: row.currency },
          wallet: row.wallet,
          walletTransactionId: trade.walletTransactionId,
          partnerTransId: row.partner_trans_id,
          paidAt: trade.paidAt.toISOString(),
          exchangeRate: trade.exchangeRate ?? null,
          settlementAmount: settlement,
        },
      });
      return row;
    });
    if (updated) this.resolved(updated, by);
    return updated;
  }

  /** The wallet refused the payment (sync FAIL) or closed its trade (query, notification). */
  async markFailed(
    id: string,
    code: WalletFailureCode,
    message: string,
    by: ResolvedBy,
  ): Promise<PaymentRow | undefined> {
    const updated = await this.ds.transaction(async (m) => {
      const row = rowsOf<PaymentRow>(
        await m.query(
          `UPDATE payments SET status = 'failed', failure_code = $2, failure_message = $3, failed_at = now(), resolved_by = $4,
                  resolve_phase = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now()
            WHERE id = $1 AND status = 'processing' AND resolve_phase = 'query' RETURNING *`,
          [id, code, message, by],
        ),
      )[0];
      if (!row) return undefined;
      await this.failedEvent(m, row, code, message);
      return row;
    });
    if (updated) this.resolved(updated, by);
    return updated;
  }

  /** The wallet confirmed the cancel: the final state of `cancelOutcome`, from the status the cancel was sent in. */
  async finishCancel(row: PaymentRow, outcome: CancelOutcome): Promise<PaymentRow | undefined> {
    const updated = await this.ds.transaction(async (m) => {
      const done =
        outcome.status === 'failed'
          ? rowsOf<PaymentRow>(
              await m.query(
                `UPDATE payments SET status = 'failed', failure_code = $3, failure_message = $4, failed_at = now(), resolved_by = 'cancel',
                        resolve_phase = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now()
                  WHERE id = $1 AND status = $2 AND resolve_phase = 'cancel' RETURNING *`,
                [row.id, row.status, outcome.code, outcome.message],
              ),
            )[0]
          : rowsOf<PaymentRow>(
              await m.query(
                `UPDATE payments SET status = 'cancelled', reversed = $3, cancelled_at = now(), resolved_by = 'cancel',
                        resolve_phase = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now()
                  WHERE id = $1 AND status = $2 AND resolve_phase = 'cancel' RETURNING *`,
                [row.id, row.status, outcome.reversed],
              ),
            )[0];
      if (!done) return undefined;
      if (outcome.status === 'failed') {
        await this.failedEvent(m, done, outcome.code, outcome.message);
      } else {
        await appendToOutbox(m, {
          type: 'payment.cancelled',
          aggregateId: done.id,
          merchantId: done.merchant_id,
          payload: {
            paymentId: done.id,
            orderId: done.order_id,
            merchantId: done.merchant_id,
            amount: { value: Number(done.amount_value), currency: done.currency },
            partnerTransId: done.partner_trans_id,
            reversed: outcome.reversed,
            cancelledAt: new Date(done.cancelled_at ?? Date.now()).toISOString(),
          },
        });
      }
      return done;
    });
    if (updated) this.resolved(updated, 'cancel');
    return updated;
  }

  /** The wallet refused to reverse a succeeded payment: it stays succeeded, the refusal is shown. */
  async refuseCancel(row: PaymentRow, code: string, message: string): Promise<PaymentRow | undefined> {
    return rowsOf<PaymentRow>(
      await this.ds.query(
        `UPDATE payments SET resolve_phase = NULL, cancel_reason = NULL, cancel_requested_at = NULL,
                cancel_failure_code = $3, cancel_failure_message = $4, next_attempt_at = NULL, claim_token = NULL, updated_at = now()
          WHERE id = $1 AND claim_token = $2 AND status = 'succeeded' AND resolve_phase = 'cancel' RETURNING *`,
        [row.id, row.claim_token, code, message],
      ),
    )[0];
  }

  /**
   * Manual review: the cancel was refused or never confirmed, so whether money moved is not
   * known. The payment keeps its status (never "succeeded" by default), leaves the resolver's
   * queue, and shows `review` in the API; an error log and `admit_payment_alarms_total` alert.
   */
  async raiseAlarm(row: PaymentRow, reason: string): Promise<void> {
    const rows = rowsOf<{ id: string }>(
      await this.ds.query(
        `UPDATE payments SET resolve_phase = 'alarm', alarm_reason = $3, alarmed_at = now(), next_attempt_at = NULL, claim_token = NULL,
                updated_at = now()
          WHERE id = $1 AND claim_token = $2 RETURNING id`,
        [row.id, row.claim_token, reason.slice(0, 500)],
      ),
    );
    if (rows.length === 0) return;
    this.metrics.alarms.inc({ kind: 'payment' });
    this.logger.error(
      {
        paymentId: row.id,
        partnerTransId: row.partner_trans_id,
        status: row.status,
        reason,
        alarm: 'payment_needs_review',
      },
      'ALARM: payment needs manual review; the wallet did not confirm the cancel',
    );
  }

  private async failedEvent(m: EntityManager, row: PaymentRow, code: string, message: string): Promise<void> {
    await appendToOutbox(m, {
      type: 'payment.failed',
      aggregateId: row.id,
      merchantId: row.merchant_id,
      payload: {
        paymentId: row.id,
        orderId: row.order_id,
        merchantId: row.merchant_id,
        amount: { value: Number(row.amount_value), currency: row.currency },
        partnerTransId: row.partner_trans_id,
        failure: { code, message },
        failedAt: new Date(row.failed_at ?? Date.now()).toISOString(),
      },
    });
  }

  private resolved(row: PaymentRow, by: ResolvedBy): void {
    this.metrics.resolved.inc({ status: row.status, by });
    this.logger.info(
      { paymentId: row.id, status: row.status, by, failure: row.failure_code ?? undefined },
      'payment resolved',
    );
  }
}
