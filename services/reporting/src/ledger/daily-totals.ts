import type { EntityManager } from 'typeorm';

export type DailyKey = { merchantId: string; date: string; currency: string };

/** Increments of one daily_totals row; absent = 0. Values in minor units of the row's currency. */
export type DailyDelta = {
  gross?: number;
  discounts?: number;
  refunds?: number;
  fees?: number;
  payments?: number;
  refundCount?: number;
  tickets?: number;
  /** The wallet-settlement (CNY) side of gross and refunds, in minor units of `settlementCurrency`. */
  settlementGross?: number;
  settlementRefunds?: number;
  settlementCurrency?: string | null;
};

/**
 * Adds `d` to the (merchant, business date, currency) row, creating it on first use. Callers
 * only bump after they inserted the fact row that justifies it (natural primary key, ON CONFLICT
 * DO NOTHING), which is what makes a replayed event harmless.
 */
export async function bumpDailyTotals(m: EntityManager, key: DailyKey, d: DailyDelta): Promise<void> {
  await m.query(
    `INSERT INTO daily_totals (merchant_id, business_date, currency, gross_value, discount_value, refund_value, fee_value,
                               payment_count, refund_count, ticket_count, settlement_gross_value, settlement_refund_value, settlement_currency)
     VALUES ($1, $2::date, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (merchant_id, business_date, currency) DO UPDATE SET
       gross_value = daily_totals.gross_value + EXCLUDED.gross_value,
       discount_value = daily_totals.discount_value + EXCLUDED.discount_value,
       refund_value = daily_totals.refund_value + EXCLUDED.refund_value,
       fee_value = daily_totals.fee_value + EXCLUDED.fee_value,
       payment_count = daily_totals.payment_count + EXCLUDED.payment_count,
       refund_count = daily_totals.refund_count + EXCLUDED.refund_count,
       ticket_count = daily_totals.ticket_count + EXCLUDED.ticket_count,
       settlement_gross_value = daily_totals.settlement_gross_value + EXCLUDED.settlement_gross_value,
       settlement_refund_value = daily_totals.settlement_refund_value + EXCLUDED.settlement_refund_value,
       settlement_currency = COALESCE(daily_totals.settlement_currency, EXCLUDED.settlement_currency),
       updated_at = now()`,
    [
      key.merchantId,
      key.date,
      key.currency,
      d.gross ?? 0,
      d.discounts ?? 0,
      d.refunds ?? 0,
      d.fees ?? 0,
      d.payments ?? 0,
      d.refundCount ?? 0,
      d.tickets ?? 0,
      d.settlementGross ?? 0,
      d.settlementRefunds ?? 0,
      d.settlementCurrency ?? null,
    ],
  );
}
