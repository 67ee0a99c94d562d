import { parse } from 'csv-parse/sync';
import { CURRENCY_EXPONENTS, parseMajor, type Currency } from '@admit/contracts';

export type FileKind = 'transaction' | 'settlement';

/** What a ledger entry is on the wallet's side: a payment, a refund, or a cancel/reversal of a paid trade. */
export type EntryClass = 'payment' | 'refund' | 'reversal';

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
];

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
];

/** One record of a wallet file, amounts in minor units of `currency`. */
export type WalletLine = {
  line: number;
  entryClass: EntryClass;
  type: string;
  partnerTransactionId: string;
  walletTransactionId: string;
  amount: number;
  fee: number;
  currency: string;
  time: string;
};

export type WalletFile = { kind: FileKind; partnerId: string; date: string; totalCount: number; lines: WalletLine[] };

/** A file that does not follow the wallet's format; `line` is 1-based. */
export class MalformedFileError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'MalformedFileError';
  }
}

const AMOUNT = /^\d{1,15}(\.\d{1,4})?$/;
const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

function minor(text: string, currency: string, line: number, column: string): number {
  if (!AMOUNT.test(text)) throw new MalformedFileError(line, `${column} "${text}" is not an amount`);
  try {
    return parseMajor(text, currency as Currency).value;
  } catch {
    throw new MalformedFileError(line, `${column} "${text}" has too many decimals for ${currency}`);
  }
}

/**
 * Parses a wallet transaction or settlement file (brief §5 as the sandbox writes it): a header
 * `Partner:<pid>|Payment_time|Settlement_time:<date>|Total_count:<n>`, the column-name line, then
 * one pipe-delimited record per line. Every violation throws MalformedFileError naming the line.
 */
export function parseWalletFile(kind: FileKind, content: string): WalletFile {
  const text = content.replace(/^\uFEFF/, '');
  const raw = text.split(/\r?\n/);
  while (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  if (raw.length === 0) throw new MalformedFileError(1, 'the file is empty');
  const nul = raw.findIndex((l) => l.includes('\u0000'));
  if (nul >= 0) throw new MalformedFileError(nul + 1, 'contains a NUL character');
  const timeField = kind === 'transaction' ? 'Payment_time' : 'Settlement_time';
  const header = new RegExp(`^Partner:(\\w+)\\|${timeField}:(\\d{4}-\\d{2}-\\d{2})\\|Total_count:(\\d+)$`).exec(
    raw[0] ?? '',
  );
  if (!header)
    throw new MalformedFileError(1, `expected the header "Partner:<pid>|${timeField}:<YYYY-MM-DD>|Total_count:<n>"`);
  const columns = kind === 'transaction' ? TRANSACTION_COLUMNS : SETTLEMENT_COLUMNS;
  if (raw[1] !== columns.join('|'))
    throw new MalformedFileError(2, `expected the ${kind} file's column names (${columns.length} columns)`);
  let records: string[][];
  try {
    records = parse(raw.slice(2).join('\n'), {
      delimiter: '|',
      quote: false,
      relax_column_count: true,
      skip_empty_lines: false,
    }) as string[][];
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    throw new MalformedFileError((line ?? 0) + 2, (e as Error).message);
  }
  const lines: WalletLine[] = [];
  records.forEach((rec, i) => {
    const line = i + 3;
    if (rec.length !== columns.length)
      throw new MalformedFileError(line, `expected ${columns.length} fields, found ${rec.length}`);
    const f = Object.fromEntries(columns.map((c, k) => [c, (rec[k] ?? '').trim()])) as Record<string, string>;
    const partnerTransactionId = f['Partner_transaction_id'] ?? '';
    const walletTransactionId = f['Transaction_id'] ?? '';
    if (!partnerTransactionId) throw new MalformedFileError(line, 'Partner_transaction_id is empty');
    if (!walletTransactionId) throw new MalformedFileError(line, 'Transaction_id is empty');
    const currency = f['Currency'] ?? '';
    if (!Object.hasOwn(CURRENCY_EXPONENTS, currency))
      throw new MalformedFileError(line, `Currency "${currency}" is not a known ISO-4217 code`);
    const time = f['Payment_time'] ?? '';
    if (!TIME.test(time)) throw new MalformedFileError(line, `Payment_time "${time}" is not yyyy-MM-dd HH:mm:ss`);
    let type: string;
    let entryClass: EntryClass;
    let amount: number;
    let fee: number;
    if (kind === 'transaction') {
      type = f['Transaction_type'] ?? '';
      const classes: Record<string, EntryClass> = {
        PAYMENT: 'payment',
        REFUND: 'refund',
        CANCEL: 'reversal',
        REVERSAL: 'reversal',
      };
      const c = classes[type];
      if (!c)
        throw new MalformedFileError(line, `Transaction_type "${type}" is not PAYMENT, REFUND, CANCEL or REVERSAL`);
      entryClass = c;
      amount = minor(f['Transaction_amount'] ?? '', currency, line, 'Transaction_amount');
      fee = minor(f['Charge_amount'] ?? '', currency, line, 'Charge_amount');
    } else {
      const t = f['Type'] ?? '';
      if (t !== 'P' && t !== 'R') throw new MalformedFileError(line, `Type "${t}" is not P or R`);
      if ((f['Status'] ?? '') !== 'L') throw new MalformedFileError(line, `Status "${f['Status']}" is not L`);
      const remark = (f['Remarks'] ?? '').split(' ')[0] ?? '';
      if (t === 'P') {
        type = 'PAYMENT';
        entryClass = 'payment';
      } else if (remark === 'CANCEL' || remark === 'REVERSAL') {
        type = remark;
        entryClass = 'reversal';
      } else {
        type = 'REFUND';
        entryClass = 'refund';
      }
      amount = minor(f['Amount'] ?? '', currency, line, 'Amount');
      fee = minor(f['Fee'] ?? '', currency, line, 'Fee');
      const settled = minor(f['Settlement'] ?? '', currency, line, 'Settlement');
      if (entryClass === 'payment' && settled !== amount - fee)
        throw new MalformedFileError(line, 'Settlement is not Amount − Fee');
    }
    lines.push({ line, entryClass, type, partnerTransactionId, walletTransactionId, amount, fee, currency, time });
  });
  const totalCount = Number(header[3]);
  if (totalCount !== lines.length)
    throw new MalformedFileError(1, `Total_count is ${totalCount} but the file has ${lines.length} records`);
  return { kind, partnerId: header[1] ?? '', date: header[2] ?? '', totalCount, lines };
}
