import type { Money } from '@admit/contracts';
import type { RefundResult, WalletFailureCode } from '../wallet';

/** Waits before each retry of a refund whose outcome is unknown; the last one repeats forever. */
export const REFUND_RETRY_DELAYS_MS: readonly number[] = [
  2000, 3000, 3000, 5000, 5000, 10000, 30000, 60000, 120000, 300000,
];
/** After this many unresolved attempts the refund raises an alarm (it keeps being retried). */
export const REFUND_ALARM_AFTER_ATTEMPTS = 8;

export type RefundablePayment = {
  status: 'processing' | 'succeeded' | 'failed' | 'cancelled';
  amount: Money;
  /** A cancel (reversal) is requested, running or needs review: no refund meanwhile. */
  cancelPending: boolean;
};

export type RefundCheck =
  { ok: true; refundedAfter: number } | { ok: false; status: 409 | 422; code: string; message: string };

/**
 * Whether a refund of `request` may be created on `payment`, given `committed`: the sum of the
 * payment's refunds that are pending or succeeded (a pending refund may have happened at the
 * wallet, so it counts). Called with the payment row locked, so the check and the insert are
 * one atomic step. Rule 11: partial and repeated refunds while the total stays ≤ the captured
 * amount, in the payment's currency.
 */
export function checkRefund(payment: RefundablePayment, committed: number, request: Money): RefundCheck {
  if (payment.status !== 'succeeded') {
    return {
      ok: false,
      status: 409,
      code: 'PAYMENT_NOT_REFUNDABLE',
      message: `A ${payment.status} payment cannot be refunded.`,
    };
  }
  if (payment.cancelPending) {
    return { ok: false, status: 409, code: 'PAYMENT_CANCEL_IN_PROGRESS', message: 'This payment is being cancelled.' };
  }
  if (request.currency !== payment.amount.currency) {
    return {
      ok: false,
      status: 422,
      code: 'CURRENCY_MISMATCH',
      message: `The refund must be in the payment's currency (${payment.amount.currency}).`,
    };
  }
  if (!Number.isSafeInteger(request.value) || request.value <= 0) {
    return { ok: false, status: 422, code: 'INVALID_AMOUNT', message: 'The refund amount must be greater than zero.' };
  }
  const after = committed + request.value;
  if (after > payment.amount.value) {
    return {
      ok: false,
      status: 422,
      code: 'REFUND_EXCEEDS_PAYMENT',
      message: `Refunds would total ${after} of a ${payment.amount.value} ${payment.amount.currency} payment (${Math.max(0, payment.amount.value - committed)} left to refund).`,
    };
  }
  return { ok: true, refundedAfter: after };
}

/** Totals carried by `refund.succeeded`. */
export function refundTotals(
  paymentAmount: Money,
  refundedBefore: number,
  refund: Money,
): { refundedTotal: Money; fullyRefunded: boolean } {
  const total = refundedBefore + refund.value;
  return {
    refundedTotal: { value: total, currency: paymentAmount.currency },
    fullyRefunded: total >= paymentAmount.value,
  };
}

export function refundRetryDelayMs(attemptsDone: number): number {
  const i = Math.max(0, attemptsDone - 1);
  return REFUND_RETRY_DELAYS_MS[Math.min(i, REFUND_RETRY_DELAYS_MS.length - 1)] as number;
}

export type RefundDecision =
  | { kind: 'succeeded'; result: Extract<RefundResult, { kind: 'succeeded' }> }
  | { kind: 'failed'; code: WalletFailureCode; message: string }
  /** Unknown: retry with the same partner_refund_id at `at` (rule 10); `alarm` once it has taken too long. */
  | { kind: 'retry'; at: Date; reason: string; alarm: boolean };

export function decideAfterRefund(r: RefundResult, attemptsDone: number, now: Date): RefundDecision {
  switch (r.kind) {
    case 'succeeded':
      return { kind: 'succeeded', result: r };
    case 'failed':
      return { kind: 'failed', code: r.code, message: r.message };
    case 'unknown':
      return {
        kind: 'retry',
        at: new Date(now.getTime() + refundRetryDelayMs(attemptsDone)),
        reason: r.reason,
        alarm: attemptsDone === REFUND_ALARM_AFTER_ATTEMPTS,
      };
  }
}
