import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { newCorrelationId, runInFlow, type Logger } from '@admit/messaging';
import { LOGGER } from '@admit/service-kit';
import type { PaymentSettings } from '../config';
import type { PaymentMetrics } from '../metrics';
import { RefundsService } from '../refunds/refunds.service';
import { PAYMENT_METRICS, PAYMENT_SETTINGS } from '../tokens';
import type { WalletGateway } from '../wallet';
import { WALLET } from '../wallet.provider';
import type { PaymentRow } from './payment-row';
import { PaymentStore } from './payment-store';
import { cancelOutcome, decideAfterCancel, decideAfterQuery } from './resolution';

/** Runs resolver work in the flow of the request that created the payment or refund. */
function inFlowOf<T>(row: { id: string; correlation_id: string | null }, fn: () => Promise<T>): Promise<T> {
  return runInFlow(
    { correlationId: row.correlation_id ?? newCorrelationId(), causationId: `resolver:${row.id}`, requestId: null },
    fn,
  );
}

/**
 * Finishes every payment the capture request could not: polls `overseas.query` on the schedule
 * of resolution.ts within the resolve window, then cancels (retrying while the wallet says retry,
 * then alarm), and retries refunds whose outcome is unknown with their same partner_refund_id.
 *
 * All of its state is in the database (`next_attempt_at`, `attempts`, `resolve_phase`), so a
 * restarted process, or another replica, carries on where this one stopped. Work is claimed
 * with `FOR UPDATE SKIP LOCKED` plus a lease; at most `concurrency` payments and as many
 * refunds are in flight per process.
 */
@Injectable()
export class PaymentResolver implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly inflight = new Set<Promise<void>>();
  private inflightPayments = 0;
  private inflightRefunds = 0;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private passRunning = false;
  private passAgain = false;
  private lastBacklogSample = 0;

  constructor(
    private readonly store: PaymentStore,
    private readonly refunds: RefundsService,
    @Inject(WALLET) private readonly wallet: WalletGateway,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(PAYMENT_SETTINGS) private readonly settings: PaymentSettings,
    @Inject(PAYMENT_METRICS) private readonly metrics: PaymentMetrics,
  ) {}

  onApplicationBootstrap(): void {
    this.stopped = false;
    this.logger.info(
      { windowMs: this.settings.resolver.windowMs, concurrency: this.settings.resolver.concurrency },
      'payment resolver started',
    );
    this.wake();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    // Claims of unfinished work simply expire; another replica (or the next start) resumes it.
    await Promise.allSettled([...this.inflight]);
  }

  /** Look for due work now (new work was handed over, or a slot became free). */
  wake(): void {
    if (this.stopped) return;
    if (this.passRunning) {
      this.passAgain = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pass(), 0);
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    this.passRunning = true;
    try {
      const { concurrency } = this.settings.resolver;
      const payments = await this.store.claimDue(concurrency - this.inflightPayments);
      for (const row of payments)
        this.track(
          'payment',
          inFlowOf(row, () => this.stepPayment(row)),
        );
      const refunds = await this.refunds.claimDue(concurrency - this.inflightRefunds);
      for (const row of refunds)
        this.track(
          'refund',
          inFlowOf(row, () => this.refunds.retryClaimed(row)),
        );
      await this.sampleBacklog();
    } catch (err) {
      this.logger.warn({ err }, 'resolver pass failed; retrying');
    } finally {
      this.passRunning = false;
    }
    if (this.stopped) return;
    const again = this.passAgain;
    this.passAgain = false;
    this.timer = setTimeout(() => void this.pass(), again ? 0 : this.settings.resolver.pollMs);
  }

  private track(kind: 'payment' | 'refund', work: Promise<void>): void {
    if (kind === 'payment') this.inflightPayments++;
    else this.inflightRefunds++;
    const done = work
      .catch((err: unknown) =>
        this.logger.error({ err, kind }, 'resolver step failed; the claim expires and the work is retried'),
      )
      .finally(() => {
        if (kind === 'payment') this.inflightPayments--;
        else this.inflightRefunds--;
        this.inflight.delete(done);
        this.wake();
      });
    this.inflight.add(done);
  }

  private async sampleBacklog(): Promise<void> {
    if (Date.now() - this.lastBacklogSample < 5000) return;
    this.lastBacklogSample = Date.now();
    const backlog = await this.store.backlog();
    this.metrics.backlog.set({ table: 'payments' }, backlog.payments);
    this.metrics.backlog.set({ table: 'refunds' }, backlog.refunds);
  }

  /** One visit of a claimed payment: one query, or one cancel (the cancel right after the last query). */
  async stepPayment(row: PaymentRow): Promise<void> {
    if (row.status === 'processing' && row.resolve_phase === 'query') return this.queryStep(row);
    if ((row.status === 'processing' || row.status === 'succeeded') && row.resolve_phase === 'cancel') {
      await this.cancelStep(row);
      return;
    }
    await this.store.release(row);
  }

  private async queryStep(row: PaymentRow): Promise<void> {
    const q = await this.wallet.query(row.partner_trans_id);
    this.metrics.walletCalls.inc({ op: 'query', outcome: q.kind });
    const d = decideAfterQuery(q, {
      now: new Date(),
      createdAt: new Date(row.created_at),
      windowMs: this.settings.resolver.windowMs,
      queriesDone: row.attempts + 1,
      amount: { value: Number(row.amount_value), currency: row.currency },
    });
    this.logger.debug(
      { paymentId: row.id, query: q.kind, decision: d.kind, attempt: row.attempts + 1 },
      'resolver query',
    );
    switch (d.kind) {
      case 'succeed':
        await this.store.markSucceeded(row.id, d.trade, 'query');
        return;
      case 'fail':
        await this.store.markFailed(row.id, d.code, d.message, 'query');
        return;
      case 'query_again':
        await this.store.schedule(row, d.at, row.attempts + 1);
        return;
      case 'alarm':
        await this.store.raiseAlarm(row, d.reason);
        return;
      case 'cancel': {
        // Rule 6: the cancel follows the last query with no gap, in the same claim.
        const cancelling = await this.store.enterCancel(row, 'timeout');
        if (cancelling) await this.cancelStep(cancelling);
        return;
      }
    }
  }

  /** Sends acquire.cancel and stores what the wallet confirmed. Exposed for the cancel endpoint. */
  async cancelStep(row: PaymentRow): Promise<PaymentRow | undefined> {
    if (row.status !== 'processing' && row.status !== 'succeeded') return row;
    const status = row.status;
    const c = await this.wallet.cancel(row.partner_trans_id);
    this.metrics.walletCalls.inc({ op: 'cancel', outcome: c.kind });
    const d = decideAfterCancel(c, { now: new Date(), cancelsDone: row.attempts + 1, status });
    this.logger.info(
      { paymentId: row.id, cancel: c.kind, decision: d.kind, attempt: row.attempts + 1, reason: row.cancel_reason },
      'resolver cancel',
    );
    switch (d.kind) {
      case 'closed':
      case 'reversed':
        return this.store.finishCancel(row, cancelOutcome(d.kind, row.cancel_reason ?? 'timeout'));
      case 'retry':
        await this.store.schedule(row, d.at, row.attempts + 1);
        return undefined;
      case 'alarm':
        await this.store.raiseAlarm(row, d.reason);
        return undefined;
      case 'refused':
        return this.store.refuseCancel(row, d.code, d.message);
    }
  }
}
