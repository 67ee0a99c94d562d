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
];

function major(value: number, currency: string): string {
  return Object.hasOwn(CURRENCY_EXPONENTS, currency)
    ? formatMajor({ value, currency: currency as Currency })
    : String(value);
}

function cell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The daily report as CSV (RFC 4180, CRLF), amounts in major units of their currency ("12.50"). */
export function dailyReportCsv(report: DailyReport): string {
  const lines = [COLUMNS.join(',')];
  for (const t of report.totals) {
    lines.push(
      [
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
      ]
        .map(cell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}
