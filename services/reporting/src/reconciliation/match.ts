import type { EntryClass, WalletLine } from './wallet-file';

/** What Admit's ledger says the wallet should list for one day. Amounts in minor units. */
export type LedgerEntry = {
  entryClass: EntryClass;
  /** Payment: partner_trans_id (= the Admit payment id); refund: partner_refund_id (= the refund id). */
  partnerTransactionId: string;
  walletTransactionId: string;
  merchantId: string;
  amount: number;
  fee: number;
  currency: string;
};

export type LineStatus = 'matched' | 'missingInLedger' | 'missingInWallet' | 'amountMismatch' | 'feeMismatch';

type Side = { amount: { value: number; currency: string }; fee: { value: number; currency: string } };

export type ReconciliationLine = {
  status: LineStatus;
  /** 1-based line of the wallet file; null for ledger entries the file lacks. */
  line: number | null;
  type: string;
  walletTransactionId: string | null;
  partnerTransactionId: string | null;
  merchantId: string | null;
  expected: Side | null;
  actual: Side | null;
};

export type Summary = Record<Exclude<LineStatus, never>, number>;

function keyOf(entryClass: EntryClass, partnerId: string, walletId: string): string {
  // Cancel/reversal rows of the settlement file carry the wallet trade id as partner id, so the
  // wallet id is the key both files share for them.
  return entryClass === 'reversal' ? `reversal:${walletId}` : `${entryClass}:${partnerId}`;
}

const side = (amount: number, fee: number, currency: string): Side => ({
  amount: { value: amount, currency },
  fee: { value: fee, currency },
});

/**
 * Classifies every file line against the ledger, then lists the ledger entries no line claimed:
 * matched (same class, ids, amount, currency and fee), amountMismatch (amount or currency differ),
 * feeMismatch (only the fee differs), missingInLedger (no ledger entry, or one a previous line
 * already claimed), missingInWallet (a ledger entry of the day the file does not list).
 */
export function reconcile(
  lines: WalletLine[],
  ledger: LedgerEntry[],
): { summary: Summary; lines: ReconciliationLine[] } {
  const byKey = new Map<string, LedgerEntry>();
  const byWalletPayment = new Map<string, LedgerEntry>();
  for (const e of ledger) {
    byKey.set(keyOf(e.entryClass, e.partnerTransactionId, e.walletTransactionId), e);
    if (e.entryClass === 'payment') byWalletPayment.set(e.walletTransactionId, e);
  }
  const claimed = new Set<LedgerEntry>();
  const out: ReconciliationLine[] = [];
  for (const l of lines) {
    let e = byKey.get(keyOf(l.entryClass, l.partnerTransactionId, l.walletTransactionId));
    if (!e && l.entryClass === 'payment') e = byWalletPayment.get(l.walletTransactionId);
    const actual = side(l.amount, l.fee, l.currency);
    const base = {
      line: l.line,
      type: l.type,
      walletTransactionId: l.walletTransactionId,
      partnerTransactionId: l.partnerTransactionId,
    };
    if (!e || claimed.has(e)) {
      out.push({ ...base, status: 'missingInLedger', merchantId: null, expected: null, actual });
      continue;
    }
    claimed.add(e);
    const expected = side(e.amount, e.fee, e.currency);
    let status: LineStatus = 'matched';
    if (e.amount !== l.amount || e.currency !== l.currency) status = 'amountMismatch';
    else if (e.fee !== l.fee) status = 'feeMismatch';
    else if (e.walletTransactionId !== l.walletTransactionId) status = 'missingInLedger';
    out.push({ ...base, status, merchantId: e.merchantId, expected, actual });
  }
  for (const e of ledger) {
    if (claimed.has(e)) continue;
    out.push({
      status: 'missingInWallet',
      line: null,
      type: e.entryClass === 'payment' ? 'PAYMENT' : e.entryClass === 'refund' ? 'REFUND' : 'CANCEL',
      walletTransactionId: e.walletTransactionId,
      partnerTransactionId: e.partnerTransactionId,
      merchantId: e.merchantId,
      expected: side(e.amount, e.fee, e.currency),
      actual: null,
    });
  }
  const summary: Summary = { matched: 0, missingInLedger: 0, missingInWallet: 0, amountMismatch: 0, feeMismatch: 0 };
  for (const l of out) summary[l.status] += 1;
  return { summary, lines: out };
}
