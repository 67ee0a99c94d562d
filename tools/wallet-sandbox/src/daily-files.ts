import type { Pool } from 'pg';
import { formatWalletAmount, toCnyMinor } from './sandbox-money';
import { beijingDateTime, beijingDayRange } from './sandbox-time';
import { refundFromRow, tradeFromRow, type TradeRecord } from './trade-repository';

/**
 * The wallet's daily reconciliation files (brief §5), generated on demand from the sandbox's
 * records. A "day" is a GMT+8 calendar day, like the wallet's. Amounts are always positive; the
 * row type gives the direction.
 *
 * Transaction file rows, for trades of the configured partner:
 * - PAYMENT  — a trade paid on that day (Charge_amount = the MDR fee);
 * - REFUND   — a refund made on that day (Partner_transaction_id = partner_refund_id; the fee is not returned: 0);
 * - CANCEL   — a paid trade cancelled that day after the merchant had received SUCCESS (fee returned);
 * - REVERSAL — a paid trade cancelled that day whose pay the merchant never saw succeed
 *              (UNKNOW or timeout; the cancel rolled back a trade with a technical problem; fee returned).
 * Cancels of unpaid trades move no money and produce no row.
 *
 * Settlement file: the sandbox settles every day with no weekend or holiday shift, so the
 * settlement file of day D lists the same events as the transaction file of day D: Type P for
 * payments, R for refunds/cancels/reversals; Status always L; Settlement = Amount − Fee;
 * Settlement_time = D 23:59:59 (GMT+8). As the brief says, cancelled trades carry the Alipay
 * trade id in Partner_transaction_id (on their R row).
 */

export const TRANSACTION_COLUMNS = [
  'Partner_transaction_id',
  'Transaction_id',
  'Transaction_amount',
  'Charge_amount',
  'Currency',
  'Payment_time',
  'Transaction_type',
  'Remark',
  'Secondary_merchant_industry',
  'Secondary_merchant_name',
  'Operator_name',
  'Order_scene',
  'Trans_currency',
  'Trans_amount',
  'Trans_forex_rate',
] as const;

export const SETTLEMENT_COLUMNS = [
  'Partner_transaction_id',
  'Transaction_id',
  'Amount',
  'Rmb_amount',
  'Fee',
  'Settlement',
  'Rmb_settlement',
  'Currency',
  'Rate',
  'Payment_time',
  'Settlement_time',
  'Type',
  'Status',
  'Remarks',
  'Secondary_merchant_industry',
  'Secondary_merchant_name',
  'Operator_name',
  'Order_scene',
  'Trans_currency',
  'Trans_amount',
  'Trans_forex_rate',
] as const;

export type FileEventType = 'PAYMENT' | 'REFUND' | 'CANCEL' | 'REVERSAL';

type FileEvent = {
  type: FileEventType;
  at: Date;
  /** partner_trans_id, or partner_refund_id for refunds. */
  partnerId: string;
  trade: TradeRecord;
  amountMinor: number;
  amountCnyMinor: number;
  feeMinor: number;
  remark: string;
};

/** Values may not contain the separator or line breaks. */
function clean(value: string | null): string {
  return (value ?? '').replace(/[|\r\n]/g, ' ');
}

async function eventsOfDay(pool: Pool, partnerId: string, day: string): Promise<FileEvent[] | undefined> {
  const range = beijingDayRange(day);
  if (range === undefined) return undefined;
  const paid = await pool.query(
    'SELECT * FROM sandbox_trade WHERE partner_id = $1 AND paid_at >= $2 AND paid_at < $3',
    [partnerId, range.start, range.end],
  );
  const reversed = await pool.query(
    `SELECT * FROM sandbox_trade WHERE partner_id = $1 AND close_action = 'refund' AND paid_at IS NOT NULL
       AND closed_at >= $2 AND closed_at < $3`,
    [partnerId, range.start, range.end],
  );
  const refunds = (
    await pool.query('SELECT * FROM sandbox_refund WHERE partner_id = $1 AND created_at >= $2 AND created_at < $3', [
      partnerId,
      range.start,
      range.end,
    ])
  ).rows.map((row: Record<string, unknown>) => refundFromRow(row));
  const refundedTrades = new Map<string, TradeRecord>();
  if (refunds.length > 0) {
    const rows = await pool.query(
      'SELECT * FROM sandbox_trade WHERE partner_id = $1 AND partner_trans_id = ANY($2::text[])',
      [partnerId, [...new Set(refunds.map((r) => r.partnerTransId))]],
    );
    for (const row of rows.rows as Array<Record<string, unknown>>) {
      const trade = tradeFromRow(row);
      refundedTrades.set(trade.partnerTransId, trade);
    }
  }
  const cny = (trade: TradeRecord, minor: number): number =>
    trade.currency === 'CNY' ? minor : toCnyMinor(minor, trade.currency, trade.exchangeRate ?? '0');

  const events: FileEvent[] = [];
  for (const row of paid.rows as Array<Record<string, unknown>>) {
    const trade = tradeFromRow(row);
    if (trade.paidAt === null) continue;
    events.push({
      type: 'PAYMENT',
      at: trade.paidAt,
      partnerId: trade.partnerTransId,
      trade,
      amountMinor: trade.amountMinor,
      amountCnyMinor: cny(trade, trade.amountMinor),
      feeMinor: trade.feeMinor,
      remark: trade.transName,
    });
  }
  for (const row of reversed.rows as Array<Record<string, unknown>>) {
    const trade = tradeFromRow(row);
    if (trade.closedAt === null) continue;
    events.push({
      type: trade.reversalType ?? 'REVERSAL',
      at: trade.closedAt,
      partnerId: trade.partnerTransId,
      trade,
      amountMinor: trade.amountMinor,
      amountCnyMinor: cny(trade, trade.amountMinor),
      feeMinor: trade.feeMinor,
      remark: trade.transName,
    });
  }
  for (const refund of refunds) {
    const trade = refundedTrades.get(refund.partnerTransId);
    if (trade === undefined) continue;
    events.push({
      type: 'REFUND',
      at: refund.createdAt,
      partnerId: refund.partnerRefundId,
      trade,
      amountMinor: refund.amountMinor,
      amountCnyMinor: refund.amountCnyMinor ?? cny(trade, refund.amountMinor),
      feeMinor: 0,
      remark: refund.reason ?? '',
    });
  }
  events.sort((a, b) => a.at.getTime() - b.at.getTime() || a.partnerId.localeCompare(b.partnerId));
  return events;
}

function rateOf(trade: TradeRecord): string {
  return trade.currency === 'CNY' ? '1' : (trade.exchangeRate ?? '');
}

/** The transaction file of a GMT+8 day; undefined for an invalid date. */
export async function transactionFile(pool: Pool, partnerId: string, day: string): Promise<string | undefined> {
  const events = await eventsOfDay(pool, partnerId, day);
  if (events === undefined) return undefined;
  const lines = [
    `Partner:${partnerId}|Payment_time:${day}|Total_count:${events.length}`,
    TRANSACTION_COLUMNS.join('|'),
  ];
  for (const e of events) {
    const t = e.trade;
    const amount = formatWalletAmount(e.amountMinor, t.currency);
    lines.push(
      [
        e.partnerId,
        t.alipayTransId,
        amount,
        formatWalletAmount(e.feeMinor, t.currency),
        t.currency,
        beijingDateTime(e.at),
        e.type,
        clean(e.remark),
        clean(t.secondaryMerchantIndustry),
        clean(t.secondaryMerchantName),
        clean(t.storeName),
        'paymentQrCode',
        t.currency,
        amount,
        '1',
      ].join('|'),
    );
  }
  return lines.join('\n') + '\n';
}

/** The settlement file of a GMT+8 day; undefined for an invalid date. */
export async function settlementFile(pool: Pool, partnerId: string, day: string): Promise<string | undefined> {
  const events = await eventsOfDay(pool, partnerId, day);
  if (events === undefined) return undefined;
  const lines = [
    `Partner:${partnerId}|Settlement_time:${day}|Total_count:${events.length}`,
    SETTLEMENT_COLUMNS.join('|'),
  ];
  for (const e of events) {
    const t = e.trade;
    const settlementMinor = e.amountMinor - e.feeMinor;
    const rate = rateOf(t);
    const rmbSettlement =
      t.currency === 'CNY' ? settlementMinor : toCnyMinor(settlementMinor, t.currency, rate === '' ? '0' : rate);
    const cancelled = e.type === 'CANCEL' || e.type === 'REVERSAL';
    const amount = formatWalletAmount(e.amountMinor, t.currency);
    lines.push(
      [
        cancelled ? t.alipayTransId : e.partnerId,
        t.alipayTransId,
        amount,
        formatWalletAmount(e.amountCnyMinor, 'CNY'),
        formatWalletAmount(e.feeMinor, t.currency),
        formatWalletAmount(settlementMinor, t.currency),
        formatWalletAmount(rmbSettlement, 'CNY'),
        t.currency,
        rate,
        beijingDateTime(e.at),
        `${day} 23:59:59`,
        e.type === 'PAYMENT' ? 'P' : 'R',
        'L',
        clean(e.type === 'PAYMENT' ? e.remark : `${e.type} ${e.remark}`.trim()),
        clean(t.secondaryMerchantIndustry),
        clean(t.secondaryMerchantName),
        clean(t.storeName),
        'paymentQrCode',
        t.currency,
        amount,
        '1',
      ].join('|'),
    );
  }
  return lines.join('\n') + '\n';
}
