import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { newId, type EventType } from '@admit/contracts';
import { appendManyToOutbox, type NewEvent } from '@admit/messaging';
import { AdmitError, decodeCursor, toPage } from '@admit/service-kit';
import { major, toCsv } from '../reports/report-csv';
import { reconcile, type LedgerEntry, type ReconciliationLine, type Summary } from './match';
import type { CreateReconciliation } from './reconciliation.dto';
import { MalformedFileError, parseWalletFile, type FileKind } from './wallet-file';

export type Reconciliation = {
  id: string;
  kind: FileKind;
  date: string;
  partnerId: string | null;
  merchantIds: string[] | null;
  summary: Summary;
  lines: ReconciliationLine[];
  createdAt: string;
};

type Row = {
  id: string;
  kind: FileKind;
  file_date: string;
  partner_id: string | null;
  merchant_ids: string[] | null;
  matched: number;
  missing_in_ledger: number;
  missing_in_wallet: number;
  amount_mismatch: number;
  fee_mismatch: number;
  lines: ReconciliationLine[];
  created_at: Date;
};

function toInt(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`not a safe integer: ${text}`);
  return n;
}

/** The GMT+8 wallet day `date` as a UTC half-open range (16:00 UTC the day before → 16:00 UTC). */
export function walletDayRange(date: string): { start: string; end: string } {
  const start = new Date(`${date}T00:00:00+08:00`);
  return { start: start.toISOString(), end: new Date(start.getTime() + 86_400_000).toISOString() };
}

@Injectable()
export class ReconciliationService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

  /** Ledger entries the wallet should list for the GMT+8 day: payments, refunds, reversals. */
  async ledgerFor(
    m: EntityManager | DataSource,
    date: string,
    merchantIds: string[] | null = null,
  ): Promise<LedgerEntry[]> {
    const { start, end } = walletDayRange(date);
    const payments = (await m.query(
      `SELECT partner_trans_id, wallet_transaction_id, merchant_id, amount_value::text AS amount, fee_value::text AS fee, currency
       FROM ledger_payments WHERE paid_at >= $1 AND paid_at < $2 AND ($3::text[] IS NULL OR merchant_id = ANY($3))`,
      [start, end, merchantIds],
    )) as {
      partner_trans_id: string;
      wallet_transaction_id: string;
      merchant_id: string;
      amount: string;
      fee: string;
      currency: string;
    }[];
    const refunds = (await m.query(
      `SELECT r.kind, r.refund_id, r.partner_refund_id, p.partner_trans_id, p.wallet_transaction_id, r.merchant_id,
              r.amount_value::text AS amount, r.fee_value::text AS fee, r.currency
       FROM ledger_refunds r JOIN ledger_payments p ON p.payment_id = r.payment_id
       WHERE r.succeeded_at >= $1 AND r.succeeded_at < $2 AND ($3::text[] IS NULL OR r.merchant_id = ANY($3))`,
      [start, end, merchantIds],
    )) as {
      kind: 'refund' | 'reversal';
      refund_id: string;
      partner_refund_id: string | null;
      partner_trans_id: string;
      wallet_transaction_id: string;
      merchant_id: string;
      amount: string;
      fee: string;
      currency: string;
    }[];
    return [
      ...payments.map((p) => ({
        entryClass: 'payment' as const,
        partnerTransactionId: p.partner_trans_id,
        walletTransactionId: p.wallet_transaction_id,
        merchantId: p.merchant_id,
        amount: toInt(p.amount),
        fee: toInt(p.fee),
        currency: p.currency,
      })),
      ...refunds.map((r) => ({
        entryClass: r.kind === 'refund' ? ('refund' as const) : ('reversal' as const),
        partnerTransactionId: r.kind === 'refund' ? (r.partner_refund_id ?? r.refund_id) : r.partner_trans_id,
        walletTransactionId: r.wallet_transaction_id,
        merchantId: r.merchant_id,
        amount: toInt(r.amount),
        fee: toInt(r.fee),
        currency: r.currency,
      })),
    ];
  }

  async create(input: CreateReconciliation): Promise<Reconciliation> {
    let file;
    try {
      file = parseWalletFile(input.kind, input.content);
    } catch (e) {
      if (e instanceof MalformedFileError)
        throw new AdmitError(422, 'MALFORMED_FILE', `The ${input.kind} file is malformed: ${e.message}.`, [
          { field: 'content', code: 'MALFORMED_LINE', message: `line ${e.line}: ${e.reason}` },
        ]);
      throw e;
    }
    if (file.date !== input.date)
      throw new AdmitError(422, 'FILE_DATE_MISMATCH', `The file is for ${file.date}, not ${input.date}.`, [
        { field: 'content', code: 'MALFORMED_LINE', message: `line 1: the file's date is ${file.date}` },
      ]);
    const id = newId('reconciliation');
    return this.ds.transaction(async (m) => {
      const merchantIds = input.merchantIds ?? null;
      const ledger = await this.ledgerFor(m, input.date, merchantIds);
      const { summary, lines } = reconcile(file.lines, ledger);
      const rows = (await m.query(
        `INSERT INTO reconciliations (id, kind, file_date, partner_id, matched, missing_in_ledger, missing_in_wallet,
                                      amount_mismatch, fee_mismatch, lines, merchant_ids)
         VALUES ($1, $2, $3::date, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::text[])
         RETURNING created_at`,
        [
          id,
          input.kind,
          input.date,
          file.partnerId,
          summary.matched,
          summary.missingInLedger,
          summary.missingInWallet,
          summary.amountMismatch,
          summary.feeMismatch,
          JSON.stringify(lines),
          merchantIds,
        ],
      )) as { created_at: Date }[];
      const detectedAt = new Date().toISOString();
      await appendManyToOutbox(
        m,
        lines
          .filter((l) => l.status !== 'matched')
          .map((l): NewEvent<'reconciliation.mismatch'> => ({
            type: 'reconciliation.mismatch',
            aggregateId: id,
            merchantId: l.merchantId,
            payload: {
              reconciliationId: id,
              kind: input.kind,
              date: input.date,
              status: l.status as Exclude<typeof l.status, 'matched'>,
              lineNumber: l.line,
              walletTransactionId: l.walletTransactionId,
              partnerTransactionId: l.partnerTransactionId,
              merchantId: l.merchantId,
              expected: l.expected,
              actual: l.actual,
              detectedAt,
            },
          }))
          .map((e) => e as unknown as NewEvent<EventType>),
      );
      return {
        id,
        kind: input.kind,
        date: input.date,
        partnerId: file.partnerId,
        merchantIds,
        summary,
        lines,
        createdAt: (rows[0]?.created_at ?? new Date()).toISOString(),
      };
    });
  }

  private fromRow(r: Row, withLines = true): Reconciliation {
    return {
      id: r.id,
      kind: r.kind,
      date: r.file_date,
      partnerId: r.partner_id,
      merchantIds: r.merchant_ids,
      summary: {
        matched: r.matched,
        missingInLedger: r.missing_in_ledger,
        missingInWallet: r.missing_in_wallet,
        amountMismatch: r.amount_mismatch,
        feeMismatch: r.fee_mismatch,
      },
      lines: withLines ? r.lines : [],
      createdAt: r.created_at.toISOString(),
    };
  }

  async get(id: string): Promise<Reconciliation> {
    const rows = (await this.ds.query(
      `SELECT id, kind, to_char(file_date, 'YYYY-MM-DD') AS file_date, partner_id, merchant_ids, matched, missing_in_ledger,
              missing_in_wallet, amount_mismatch, fee_mismatch, lines, created_at
       FROM reconciliations WHERE id = $1`,
      [id],
    )) as Row[];
    const row = rows[0];
    if (!row) throw AdmitError.notFound('reconciliation');
    return this.fromRow(row);
  }

  /** Newest first; list items carry the summary, not the lines. */
  async list(q: { limit: number; cursor?: string | undefined; date?: string | undefined }) {
    const after = decodeCursor(q.cursor);
    const rows = (await this.ds.query(
      `SELECT id, kind, to_char(file_date, 'YYYY-MM-DD') AS file_date, partner_id, merchant_ids, matched, missing_in_ledger,
              missing_in_wallet, amount_mismatch, fee_mismatch, '[]'::jsonb AS lines, created_at
       FROM reconciliations
       WHERE ($1::text IS NULL OR id < $1) AND ($2::date IS NULL OR file_date = $2::date)
       ORDER BY id DESC LIMIT $3`,
      [after, q.date ?? null, q.limit + 1],
    )) as Row[];
    const page = toPage(
      rows.map((r) => this.fromRow(r, false)),
      q.limit,
    );
    return { ...page, data: page.data.map(({ lines: _lines, ...rest }) => rest) };
  }

  /** The lines as CSV, amounts in major units. */
  csv(rec: Reconciliation): string {
    const money = (m: { value: number; currency: string } | undefined) => (m ? major(m.value, m.currency) : '');
    return toCsv(
      [
        'reconciliationId',
        'kind',
        'date',
        'line',
        'status',
        'type',
        'walletTransactionId',
        'partnerTransactionId',
        'merchantId',
        'expectedAmount',
        'expectedFee',
        'actualAmount',
        'actualFee',
        'currency',
      ],
      rec.lines.map((l) => [
        rec.id,
        rec.kind,
        rec.date,
        l.line === null ? '' : String(l.line),
        l.status,
        l.type,
        l.walletTransactionId ?? '',
        l.partnerTransactionId ?? '',
        l.merchantId ?? '',
        money(l.expected?.amount),
        money(l.expected?.fee),
        money(l.actual?.amount),
        money(l.actual?.fee),
        (l.actual ?? l.expected)?.amount.currency ?? '',
      ]),
    );
  }
}
