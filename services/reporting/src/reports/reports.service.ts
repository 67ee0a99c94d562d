import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AdmitError, type Principal } from '@admit/service-kit';
import { localDayRange } from '../time/zoned-time';
import { bucketIndex, buildFlow, FLOW_INTERVALS, type FlowCount } from '../visitors/flow';
import type { DailyReport, DailyReportQuery, OccupancyQuery, VisitorFlowQuery } from './reports.dto';

type TotalsRow = {
  currency: string;
  gross: string;
  discounts: string;
  refunds: string;
  fees: string;
  net: string;
  payment_count: string;
  refund_count: string;
  ticket_count: string;
  settlement_currency: string | null;
  settlement_gross: string;
  settlement_refunds: string;
};

function toInt(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a safe integer: ${text}`);
  return n;
}

/** The wallet-settlement side of one currency row: what the wallet books in its currency (CNY). */
function settlementOf(r: TotalsRow) {
  const currency = r.settlement_currency ?? r.currency;
  const gross = toInt(r.settlement_gross);
  const refunds = toInt(r.settlement_refunds);
  return {
    currency,
    gross: { value: gross, currency },
    refunds: { value: refunds, currency },
    net: { value: gross - refunds, currency },
  };
}

@Injectable()
export class ReportsService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

  /**
   * Totals of one business date by currency. A merchant key always gets its own totals, whatever
   * merchantId it sends; an acquirer key gets one merchant's, or all merchants' summed per currency.
   */
  async daily(principal: Principal, q: DailyReportQuery): Promise<DailyReport> {
    let merchantId: string | null;
    if (principal.scope === 'acquirer') {
      merchantId = q.merchantId ?? null;
      if (merchantId) {
        const known = (await this.ds.query(`SELECT 1 FROM merchants WHERE id = $1`, [merchantId])) as unknown[];
        if (known.length === 0) throw AdmitError.notFound('merchant');
      }
    } else {
      if (!principal.merchantId) throw AdmitError.notFound('merchant');
      merchantId = principal.merchantId;
    }
    const rows = (await this.ds.query(
      `SELECT currency,
              sum(gross_value)::text AS gross, sum(discount_value)::text AS discounts, sum(refund_value)::text AS refunds,
              sum(fee_value)::text AS fees, sum(net_value)::text AS net,
              sum(payment_count)::text AS payment_count, sum(refund_count)::text AS refund_count, sum(ticket_count)::text AS ticket_count,
              max(settlement_currency) AS settlement_currency,
              sum(settlement_gross_value)::text AS settlement_gross, sum(settlement_refund_value)::text AS settlement_refunds
       FROM daily_totals
       WHERE business_date = $1::date AND ($2::text IS NULL OR merchant_id = $2)
       GROUP BY currency
       ORDER BY currency`,
      [q.date, merchantId],
    )) as TotalsRow[];
    const money = (value: string, currency: string) => ({ value: toInt(value), currency });
    return {
      date: q.date,
      ...(merchantId ? { merchantId } : {}),
      totals: rows.map((r) => ({
        currency: r.currency,
        gross: money(r.gross, r.currency),
        discounts: money(r.discounts, r.currency),
        refunds: money(r.refunds, r.currency),
        fees: money(r.fees, r.currency),
        net: money(r.net, r.currency),
        paymentCount: toInt(r.payment_count),
        refundCount: toInt(r.refund_count),
        ticketCount: toInt(r.ticket_count),
        settlement: settlementOf(r),
      })),
    };
  }

  /** The attraction as the caller may see it; another merchant's or an unknown one → 404. */
  private async attraction(
    principal: Principal,
    attractionId: string,
  ): Promise<{ id: string; merchantId: string; timezone: string }> {
    const rows = (await this.ds.query(`SELECT id, merchant_id, timezone FROM attractions WHERE id = $1`, [
      attractionId,
    ])) as {
      id: string;
      merchant_id: string;
      timezone: string;
    }[];
    const row = rows[0];
    if (!row || (principal.scope !== 'acquirer' && principal.merchantId !== row.merchant_id))
      throw AdmitError.notFound('attraction');
    return { id: row.id, merchantId: row.merchant_id, timezone: row.timezone };
  }

  /** Visitors inside now: admitted entries minus admitted exits, never below zero. */
  async occupancy(principal: Principal, q: OccupancyQuery) {
    const a = await this.attraction(principal, q.attractionId);
    const rows = (await this.ds.query(`SELECT inside FROM attraction_occupancy WHERE attraction_id = $1`, [a.id])) as {
      inside: number;
    }[];
    return { attractionId: a.id, inside: rows[0]?.inside ?? 0, asOf: new Date().toISOString() };
  }

  /** Admissions and exits per interval and gate over one local day of the attraction, and the peak. */
  async visitorFlow(principal: Principal, q: VisitorFlowQuery) {
    const a = await this.attraction(principal, q.attractionId);
    const { start, end } = localDayRange(q.date, a.timezone);
    const minutes = FLOW_INTERVALS[q.interval];
    const rows = (await this.ds.query(
      `SELECT date_bin(make_interval(mins => $4), scanned_at, $2::timestamptz) AS bucket_start, gate_id, direction, count(*)::int AS count
       FROM scans
       WHERE attraction_id = $1 AND result = 'admitted' AND scanned_at >= $2 AND scanned_at < $3
       GROUP BY 1, 2, 3`,
      [a.id, start.toISOString(), end.toISOString(), minutes],
    )) as { bucket_start: Date; gate_id: string; direction: 'in' | 'out'; count: number }[];
    const counts: FlowCount[] = rows.map((r) => ({
      bucket: bucketIndex(new Date(r.bucket_start), start, minutes),
      gateId: r.gate_id,
      direction: r.direction,
      count: r.count,
    }));
    const { buckets, peak } = buildFlow(start, end, minutes, counts);
    return { attractionId: a.id, date: q.date, interval: q.interval, timezone: a.timezone, buckets, peak };
  }
}
