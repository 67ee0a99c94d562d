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
  await bumpDailyTotalsMany(m, [{ key, delta: d }]);
}

const FIELDS = [
  'gross',
  'discounts',
  'refunds',
  'fees',
  'payments',
  'refundCount',
  'tickets',
  'settlementGross',
  'settlementRefunds',
] as const;

/**
 * The same for many increments in one statement: increments of one row are added up first (a
 * multi-row upsert may touch each row once), and rows are locked in key order, so concurrent
 * consumers of different partitions cannot deadlock on them. The first non-null settlement
 * currency of a row wins, as with one bump after the other.
 */
export async function bumpDailyTotalsMany(
  m: EntityManager,
  items: { key: DailyKey; delta: DailyDelta }[],
): Promise<void> {
  const rows = new Map<
    string,
    { key: DailyKey; sum: Required<Omit<DailyDelta, 'settlementCurrency'>>; sc: string | null }
  >();
  for (const { key, delta } of items) {
    const k = `${key.merchantId}\u0000${key.date}\u0000${key.currency}`;
    let row = rows.get(k);
    if (!row) {
      row = {
        key,
        sum: Object.fromEntries(FIELDS.map((f) => [f, 0])) as Required<Omit<DailyDelta, 'settlementCurrency'>>,
        sc: null,
      };
      rows.set(k, row);
    }
    for (const f of FIELDS) row.sum[f] += delta[f] ?? 0;
    row.sc = row.sc ?? delta.settlementCurrency ?? null;
  }
  if (rows.size === 0) return;
  const sorted = [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
  const col = (f: (typeof FIELDS)[number]) => sorted.map((r) => r.sum[f]);
  await m.query(
    `INSERT INTO daily_totals (merchant_id, business_date, currency, gross_value, discount_value, refund_value, fee_value,
                               payment_count, refund_count, ticket_count, settlement_gross_value, settlement_refund_value, settlement_currency)
     SELECT * FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
                          $8::int[], $9::int[], $10::int[], $11::bigint[], $12::bigint[], $13::text[])
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
      sorted.map((r) => r.key.merchantId),
      sorted.map((r) => r.key.date),
      sorted.map((r) => r.key.currency),
      col('gross'),
      col('discounts'),
      col('refunds'),
      col('fees'),
      col('payments'),
      col('refundCount'),
      col('tickets'),
      col('settlementGross'),
      col('settlementRefunds'),
      sorted.map((r) => r.sc),
    ],
  );
}
