import type { Money } from '@admit/contracts';
import type { PaymentStatus, ResolvePhase } from '../payments/payment-row';
import { BUYER_NOT_PAID } from '../payments/resolution';
import type { QueryResult, WalletFailureCode, WalletPaidTrade } from '../wallet';

export type NotificationDecision =
  | { kind: 'succeed'; trade: WalletPaidTrade }
  | { kind: 'fail'; code: WalletFailureCode; message: string }
  /** Nothing to change (already final in agreement, still open, or a cancel decides). */
  | { kind: 'none'; note: string }
  /** The wallet's confirmed state contradicts a final state Admit holds: never move back; alarm. */
  | { kind: 'anomaly'; reason: string };

/**
 * What a verified notification may change, given the wallet's state *confirmed by a query*
 * (a notification is only a hint, rule 9 / §3). It never moves a payment backwards: a final
 * payment stays as it is, and while a cancel is running (or under review) the cancel's outcome
 * decides, so a success notification after a confirmed cancel changes nothing (rule 6).
 */
export function decideOnNotification(
  payment: { status: PaymentStatus; phase: ResolvePhase | null; amount: Money },
  q: QueryResult,
): NotificationDecision {
  if (payment.status === 'processing') {
    if (payment.phase !== 'query')
      return { kind: 'none', note: `cancel ${payment.phase ?? 'pending'}; the cancel decides` };
    switch (q.kind) {
      case 'paid':
        if (
          q.amount !== undefined &&
          (q.amount.value !== payment.amount.value || q.amount.currency !== payment.amount.currency)
        ) {
          return {
            kind: 'anomaly',
            reason: `paid trade of ${q.amount.value} ${q.amount.currency} for a payment of ${payment.amount.value} ${payment.amount.currency}`,
          };
        }
        return { kind: 'succeed', trade: stripPaid(q) };
      case 'closed':
        return { kind: 'fail', code: BUYER_NOT_PAID, message: 'The wallet closed the trade without payment.' };
      case 'waiting':
      case 'not_found':
      case 'unknown':
        return { kind: 'none', note: `wallet state ${q.kind}; the resolver keeps polling` };
    }
  }
  if (payment.status === 'succeeded') return { kind: 'none', note: `already succeeded (wallet: ${q.kind})` };
  // failed or cancelled
  if (q.kind === 'paid')
    return { kind: 'anomaly', reason: `wallet reports the trade paid, Admit has it ${payment.status}` };
  return { kind: 'none', note: `already ${payment.status} (wallet: ${q.kind})` };
}

function stripPaid(q: Extract<QueryResult, { kind: 'paid' }>): WalletPaidTrade {
  const { kind: _kind, amount: _amount, ...trade } = q;
  return trade;
}
