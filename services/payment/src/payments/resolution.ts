import type { Money } from '@admit/contracts';
import type { CancelResult, QueryResult, WalletFailureCode, WalletPaidTrade } from '../wallet';

/**
 * The resolver's schedule and decisions, as pure functions of the wallet's answer and the
 * payment's age (brief §6 rules 4–6). The resolver (resolver.ts) only claims rows, calls the
 * wallet, and stores what these functions decide.
 */

/** First `overseas.query` this long after the payment was created (rule 4: "about 2–3 s"). */
export const FIRST_QUERY_DELAY_MS = 2500;
/** Gaps between later queries (rule 4: "every 3–5 s"); the last one repeats until the window ends. */
export const QUERY_INTERVALS_MS: readonly number[] = [3000, 3000, 4000, 4000, 5000];
/** Waits before each cancel retry (rule 6 reference schedule 2,3,3,5,5 s); then the alarm. */
export const CANCEL_RETRY_DELAYS_MS: readonly number[] = [2000, 3000, 3000, 5000, 5000];

/** The failure code of a payment whose buyer never paid within the window (trade closed). */
export const BUYER_NOT_PAID: WalletFailureCode = 'BUYER_NOT_PAID';

/** When the first query of a payment created at `createdAt` is due. */
export function firstQueryAt(createdAt: Date): Date {
  return new Date(createdAt.getTime() + FIRST_QUERY_DELAY_MS);
}

/** Gap after the `queriesDone`-th query (1-based): 3, 3, 4, 4, 5, 5, 5 … s. */
export function queryIntervalMs(queriesDone: number): number {
  const i = Math.max(0, queriesDone - 1);
  return QUERY_INTERVALS_MS[Math.min(i, QUERY_INTERVALS_MS.length - 1)] as number;
}

/** End of the query window: after it the resolver cancels. */
export function windowEnd(createdAt: Date, windowMs: number): Date {
  return new Date(createdAt.getTime() + windowMs);
}

export type QueryContext = {
  now: Date;
  createdAt: Date;
  windowMs: number;
  /** Queries made so far including the one being decided on (≥ 1). */
  queriesDone: number;
  /** The payment's amount: a paid trade for another amount is not ours to accept. */
  amount: Money;
};

export type QueryDecision =
  /** The wallet says paid: the payment succeeded. */
  | { kind: 'succeed'; trade: WalletPaidTrade }
  /** The wallet closed the trade without our cancel: not paid (rule 5). */
  | { kind: 'fail'; code: WalletFailureCode; message: string }
  /** Not final yet and the window is still open: query again at `at`. */
  | { kind: 'query_again'; at: Date }
  /** The window is over without a paid trade: cancel now, with no gap (rule 6). */
  | { kind: 'cancel' }
  /** Something no rule covers (a paid trade for another amount): stop and ask a human. */
  | { kind: 'alarm'; reason: string };

/**
 * Rule 5: `TRADE_SUCCESS` → succeeded; `TRADE_CLOSED` → failed; `WAIT_BUYER_PAY`, not found, or
 * an unknown query outcome → keep polling until the window ends; then cancel at once.
 */
export function decideAfterQuery(q: QueryResult, ctx: QueryContext): QueryDecision {
  switch (q.kind) {
    case 'paid': {
      if (
        q.amount !== undefined &&
        (q.amount.value !== ctx.amount.value || q.amount.currency !== ctx.amount.currency)
      ) {
        return {
          kind: 'alarm',
          reason: `wallet reports a paid trade of ${q.amount.value} ${q.amount.currency}, payment is ${ctx.amount.value} ${ctx.amount.currency}`,
        };
      }
      const { kind: _kind, amount: _amount, ...trade } = q;
      return { kind: 'succeed', trade };
    }
    case 'closed':
      return { kind: 'fail', code: BUYER_NOT_PAID, message: 'The wallet closed the trade without payment.' };
    case 'waiting':
    case 'not_found':
    case 'unknown': {
      const end = windowEnd(ctx.createdAt, ctx.windowMs).getTime();
      const now = ctx.now.getTime();
      if (now >= end) return { kind: 'cancel' };
      // The last query falls on the window's end, and the cancel follows it immediately.
      return { kind: 'query_again', at: new Date(Math.min(now + queryIntervalMs(ctx.queriesDone), end)) };
    }
  }
}

export type CancelContext = {
  now: Date;
  /** Cancel calls made so far including the one being decided on (≥ 1). */
  cancelsDone: number;
  /** The payment's status when the cancel was sent. */
  status: 'processing' | 'succeeded';
};

export type CancelDecision =
  /** The wallet confirmed the cancel and closed an unpaid trade. */
  | { kind: 'closed' }
  /** The wallet confirmed the cancel and reversed a paid trade (money returned to the buyer). */
  | { kind: 'reversed' }
  /** The wallet may accept a later cancel: call again at `at`. */
  | { kind: 'retry'; at: Date; reason: string }
  /** The cancel cannot be completed automatically and the money state is not known: alarm. */
  | { kind: 'alarm'; reason: string }
  /** The wallet refused to reverse a succeeded payment (e.g. outside its cancel day): it stays succeeded. */
  | { kind: 'refused'; code: WalletFailureCode; message: string };

/**
 * Rule 6: SUCCESS → closed or reversed; FAIL with retry_flag=Y, UNKNOWN or a timeout → retry on
 * the 2,3,3,5,5 s schedule; retry_flag=N or retries exhausted → alarm (never "succeeded").
 * A refused cancel of a payment that had already succeeded is not an alarm: nothing changed.
 */
export function decideAfterCancel(c: CancelResult, ctx: CancelContext): CancelDecision {
  switch (c.kind) {
    case 'cancelled':
      if (c.action === 'refund') return { kind: 'reversed' };
      if (c.action === 'close') return { kind: 'closed' };
      // The wallet did not say what it did: a succeeded payment can only have been reversed.
      return ctx.status === 'succeeded' ? { kind: 'reversed' } : { kind: 'closed' };
    case 'retry': {
      const delay = CANCEL_RETRY_DELAYS_MS[ctx.cancelsDone - 1];
      if (delay === undefined) {
        return { kind: 'alarm', reason: `cancel not confirmed after ${ctx.cancelsDone} attempts: ${c.reason}` };
      }
      return { kind: 'retry', at: new Date(ctx.now.getTime() + delay), reason: c.reason };
    }
    case 'failed':
      if (ctx.status === 'succeeded') return { kind: 'refused', code: c.code, message: c.message };
      return { kind: 'alarm', reason: `wallet refused the cancel: ${c.walletCode} (${c.code})` };
  }
}

export type CancelReason = 'timeout' | 'merchant';

export type CancelOutcome =
  { status: 'failed'; code: WalletFailureCode; message: string } | { status: 'cancelled'; reversed: boolean };

/**
 * The final state after a confirmed cancel. The window ran out and the wallet closed the unpaid
 * trade → `failed BUYER_NOT_PAID` (only now, after the wallet confirmed it). A merchant's cancel
 * → `cancelled`. A reversed paid trade is always `cancelled` with `reversed: true`.
 */
export function cancelOutcome(decision: 'closed' | 'reversed', reason: CancelReason): CancelOutcome {
  if (decision === 'reversed') return { status: 'cancelled', reversed: true };
  if (reason === 'timeout') {
    return {
      status: 'failed',
      code: BUYER_NOT_PAID,
      message: 'The buyer did not complete the payment in time; the wallet closed the trade.',
    };
  }
  return { status: 'cancelled', reversed: false };
}
