import type { Currency } from '@admit/contracts';

export type PaymentStatus = 'processing' | 'succeeded' | 'failed' | 'cancelled';
export type ResolvePhase = 'query' | 'cancel' | 'alarm';

/** A `payments` row as node-postgres returns it (bigint as text). */
export type PaymentRow = {
  id: string;
  merchant_id: string;
  order_id: string;
  status: PaymentStatus;
  amount_value: string;
  currency: Currency;
  partner_trans_id: string;
  payment_code_last4: string;
  wallet: string;
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
  next_attempt_at: Date | null;
  claim_token: string | null;
  attempts: number;
  resolve_phase: ResolvePhase | null;
  cancel_reason: 'timeout' | 'merchant' | null;
  cancel_requested_at: Date | null;
  cancel_failure_code: string | null;
  cancel_failure_message: string | null;
  alarm_reason: string | null;
  alarmed_at: Date | null;
  reversed: boolean;
  cancelled_at: Date | null;
  failed_at: Date | null;
  resolved_by: 'sync' | 'query' | 'notification' | 'cancel' | null;
  correlation_id: string | null;
};

export function toPayment(r: PaymentRow) {
  const currency = r.currency;
  const merchantCancel = r.cancel_reason === 'merchant' && r.cancel_requested_at !== null;
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
    ...(r.status === 'cancelled'
      ? { reversed: r.reversed, ...(r.cancelled_at ? { cancelledAt: new Date(r.cancelled_at).toISOString() } : {}) }
      : {}),
    ...(merchantCancel && r.status !== 'cancelled' && r.resolve_phase === 'cancel'
      ? {
          cancellation: {
            status: 'pending' as const,
            requestedAt: new Date(r.cancel_requested_at as Date).toISOString(),
          },
        }
      : {}),
    ...(r.status !== 'cancelled' && r.cancel_failure_code
      ? {
          cancellation: {
            status: 'refused' as const,
            failure: { code: r.cancel_failure_code, message: r.cancel_failure_message ?? '' },
          },
        }
      : {}),
    ...(r.resolve_phase === 'alarm'
      ? {
          review: {
            reason: r.alarm_reason ?? 'needs manual review',
            since: new Date(r.alarmed_at ?? r.created_at).toISOString(),
          },
        }
      : {}),
    createdAt: new Date(r.created_at).toISOString(),
  };
}
export type PaymentView = ReturnType<typeof toPayment>;

/** TypeORM's query() returns [rows, count] for UPDATE … RETURNING on postgres, rows for SELECT/INSERT. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}
