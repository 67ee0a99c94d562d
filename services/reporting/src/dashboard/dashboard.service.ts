import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { localDayRange } from '../time/zoned-time';
import { bucketIndex, buildFlow, FLOW_INTERVALS, type FlowCount } from '../visitors/flow';

function toInt(text: string): number {
  return Number(text);
}

/**
 * What the operations dashboard shows: one business date (default: today in Asia/Shanghai); flow
 * charts for the 24 attractions scanned most recently.
 */
@Injectable()
export class DashboardService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

  async summary(date?: string) {
    const day = date ?? new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    const sales = (await this.ds.query(
      `SELECT d.merchant_id, m.name, d.currency, d.gross_value::text AS gross, d.refund_value::text AS refunds,
              d.fee_value::text AS fees, d.net_value::text AS net, d.payment_count, d.refund_count, d.ticket_count
       FROM daily_totals d LEFT JOIN merchants m ON m.id = d.merchant_id
       WHERE d.business_date = $1::date ORDER BY m.name, d.merchant_id, d.currency`,
      [day],
    )) as {
      merchant_id: string;
      name: string | null;
      currency: string;
      gross: string;
      refunds: string;
      fees: string;
      net: string;
      payment_count: number;
      refund_count: number;
      ticket_count: number;
    }[];
    const recs = (await this.ds.query(
      `SELECT id, kind, to_char(file_date, 'YYYY-MM-DD') AS date, matched, missing_in_ledger, missing_in_wallet,
              amount_mismatch, fee_mismatch, created_at
       FROM reconciliations ORDER BY created_at DESC, id DESC LIMIT 10`,
    )) as {
      id: string;
      kind: string;
      date: string;
      matched: number;
      missing_in_ledger: number;
      missing_in_wallet: number;
      amount_mismatch: number;
      fee_mismatch: number;
      created_at: Date;
    }[];
    const attractions = (await this.ds.query(
      `SELECT a.id, a.name, a.timezone, a.merchant_id, COALESCE(o.inside, 0) AS inside
       FROM attractions a LEFT JOIN attraction_occupancy o ON o.attraction_id = a.id
       ORDER BY o.last_scan_at DESC NULLS LAST, a.name, a.id LIMIT 24`,
    )) as { id: string; name: string; timezone: string; merchant_id: string; inside: number }[];
    const minutes = FLOW_INTERVALS['15m'];
    const flows = [];
    for (const a of attractions) {
      const { start, end } = localDayRange(day, a.timezone);
      const rows = (await this.ds.query(
        `SELECT date_bin(make_interval(mins => $4), scanned_at, $2::timestamptz) AS bucket_start, gate_id, direction, count(*)::int AS count
         FROM scans WHERE attraction_id = $1 AND result = 'admitted' AND scanned_at >= $2 AND scanned_at < $3
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
      flows.push({
        attractionId: a.id,
        name: a.name,
        merchantId: a.merchant_id,
        timezone: a.timezone,
        inside: a.inside,
        buckets,
        peak,
      });
    }
    return {
      date: day,
      sales: sales.map((s) => ({
        merchantId: s.merchant_id,
        name: s.name ?? s.merchant_id,
        currency: s.currency,
        gross: { value: toInt(s.gross), currency: s.currency },
        refunds: { value: toInt(s.refunds), currency: s.currency },
        fees: { value: toInt(s.fees), currency: s.currency },
        net: { value: toInt(s.net), currency: s.currency },
        paymentCount: s.payment_count,
        refundCount: s.refund_count,
        ticketCount: s.ticket_count,
      })),
      reconciliations: recs.map((r) => ({
        id: r.id,
        kind: r.kind,
        date: r.date,
        summary: {
          matched: r.matched,
          missingInLedger: r.missing_in_ledger,
          missingInWallet: r.missing_in_wallet,
          amountMismatch: r.amount_mismatch,
          feeMismatch: r.fee_mismatch,
        },
        createdAt: r.created_at.toISOString(),
      })),
      visitorFlow: flows,
    };
  }
}
