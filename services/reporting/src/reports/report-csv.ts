import { stringify } from 'csv-stringify/sync';
import { CURRENCY_EXPONENTS, formatMajor, type Currency } from '@admit/contracts';
import type { DailyReport } from './reports.dto';

const COLUMNS = [
  'date',
  'merchantId',
  'currency',
  'gross',
  'discounts',
  'refunds',
  'fees',
  'net',
  'paymentCount',
  'refundCount',
  'ticketCount',
  'settlementCurrency',
  'settlementGross',
  'settlementRefunds',
  'settlementNet',
];

/** Minor units as a major-unit decimal string of the currency ("12.50", JPY "1200"). */
export function major(value: number, currency: string): string {
  return Object.hasOwn(CURRENCY_EXPONENTS, currency)
    ? formatMajor({ value, currency: currency as Currency })
    : String(value);
}

/** RFC 4180 CSV (CRLF, quoted when needed) written by csv-stringify, with a header row. */
export function toCsv(columns: string[], rows: (string | number)[][]): string {
  return stringify(rows, { header: true, columns, record_delimiter: 'windows' });
}

/** The daily report as CSV, amounts in major units of their currency ("12.50"). */
export function dailyReportCsv(report: DailyReport): string {
  return toCsv(
    COLUMNS,
    report.totals.map((t) => [
      report.date,
      report.merchantId ?? '',
      t.currency,
      major(t.gross.value, t.currency),
      major(t.discounts.value, t.currency),
      major(t.refunds.value, t.currency),
      major(t.fees.value, t.currency),
      major(t.net.value, t.currency),
      String(t.paymentCount),
      String(t.refundCount),
      String(t.ticketCount),
      t.settlement.currency,
      major(t.settlement.gross.value, t.settlement.currency),
      major(t.settlement.refunds.value, t.settlement.currency),
      major(t.settlement.net.value, t.settlement.currency),
    ]),
  );
}
