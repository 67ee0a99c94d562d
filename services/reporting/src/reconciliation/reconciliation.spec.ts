import { reconcile, type LedgerEntry } from './match';
import { MalformedFileError, parseWalletFile, SETTLEMENT_COLUMNS, TRANSACTION_COLUMNS } from './wallet-file';

const TX_HEADER = 'Partner:2088000000000001|Payment_time:2026-03-10|Total_count:3';
const tx = (rows: string[], count = rows.length) =>
  [TX_HEADER.replace('Total_count:3', `Total_count:${count}`), TRANSACTION_COLUMNS.join('|'), ...rows].join('\n') +
  '\n';
const PAY =
  'pay_1|2026031022000000000000000001|12.50|0.08|CNY|2026-03-10 10:00:00|PAYMENT|Zoo x1|7991|City Zoo|Gate A|paymentQrCode|CNY|12.50|1';
const RFD =
  'rfd_1|2026031022000000000000000001|3.00|0|CNY|2026-03-10 10:10:00|REFUND|one back|7991|City Zoo|Gate A|paymentQrCode|CNY|3.00|1';
const JPY =
  'pay_2|2026031022000000000000000002|1200|7|JPY|2026-03-10 11:00:00|PAYMENT|x|7991|Tokyo Tower|Gate|paymentQrCode|JPY|1200|1';

const ledger: LedgerEntry[] = [
  {
    entryClass: 'payment',
    partnerTransactionId: 'pay_1',
    walletTransactionId: '2026031022000000000000000001',
    merchantId: 'mch_a',
    amount: 1250,
    fee: 8,
    currency: 'CNY',
  },
  {
    entryClass: 'refund',
    partnerTransactionId: 'rfd_1',
    walletTransactionId: '2026031022000000000000000001',
    merchantId: 'mch_a',
    amount: 300,
    fee: 0,
    currency: 'CNY',
  },
  {
    entryClass: 'payment',
    partnerTransactionId: 'pay_2',
    walletTransactionId: '2026031022000000000000000002',
    merchantId: 'mch_b',
    amount: 1200,
    fee: 7,
    currency: 'JPY',
  },
];

describe('wallet files', () => {
  it('parses a transaction file into minor units', () => {
    const f = parseWalletFile('transaction', tx([PAY, RFD, JPY]));
    expect(f).toMatchObject({ partnerId: '2088000000000001', date: '2026-03-10', totalCount: 3 });
    expect(f.lines.map((l) => [l.line, l.entryClass, l.amount, l.fee, l.currency])).toEqual([
      [3, 'payment', 1250, 8, 'CNY'],
      [4, 'refund', 300, 0, 'CNY'],
      [5, 'payment', 1200, 7, 'JPY'],
    ]);
  });

  it('parses a settlement file, cancels keyed by the wallet trade id', () => {
    const header = 'Partner:2088000000000001|Settlement_time:2026-03-10|Total_count:2';
    const p =
      'pay_1|2026031022000000000000000001|12.50|12.50|0.08|12.42|12.42|CNY|1|2026-03-10 10:00:00|2026-03-10 23:59:59|P|L|Zoo|7991|City Zoo|Gate A|paymentQrCode|CNY|12.50|1';
    const c =
      '2026031022000000000000000001|2026031022000000000000000001|12.50|12.50|0.08|12.42|12.42|CNY|1|2026-03-10 10:20:00|2026-03-10 23:59:59|R|L|CANCEL Zoo|7991|City Zoo|Gate A|paymentQrCode|CNY|12.50|1';
    const f = parseWalletFile('settlement', [header, SETTLEMENT_COLUMNS.join('|'), p, c].join('\n'));
    expect(f.lines.map((l) => [l.entryClass, l.type, l.amount, l.fee])).toEqual([
      ['payment', 'PAYMENT', 1250, 8],
      ['reversal', 'CANCEL', 1250, 8],
    ]);
  });

  it.each([
    ['', 1],
    ['nonsense\n', 1],
    [`${TX_HEADER}\nPartner_transaction_id|Transaction_id\n`, 2],
    [tx([PAY, RFD.replace('3.00|0|', 'abc|0|')]), 4],
    [tx([PAY, 'pay_x|123|1.00']), 4],
    [tx([PAY.replace('|CNY|2026', '|XXX|2026')]), 3],
    [tx([PAY.replace('PAYMENT', 'GIFT')]), 3],
    [tx([PAY], 5), 1],
    [tx([PAY, RFD.replace('one back', 'one\u0000back')]), 4],
  ])('rejects a malformed file naming the line (%#)', (content, line) => {
    let err: unknown;
    try {
      parseWalletFile('transaction', content);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MalformedFileError);
    expect((err as MalformedFileError).line).toBe(line);
  });
});

describe('reconcile', () => {
  it('matches a file that agrees with the ledger', () => {
    const r = reconcile(parseWalletFile('transaction', tx([PAY, RFD, JPY])).lines, ledger);
    expect(r.summary).toEqual({
      matched: 3,
      missingInLedger: 0,
      missingInWallet: 0,
      amountMismatch: 0,
      feeMismatch: 0,
    });
  });

  it('classifies a missing line, a changed amount, a changed fee and an extra line', () => {
    const extra = PAY.replace('pay_1', 'pay_9').replace('0000000001', '0000000009');
    const lines = parseWalletFile(
      'transaction',
      tx([PAY.replace('|0.08|', '|0.09|'), RFD.replace(/3\.00/g, '4.00'), extra]),
    ).lines;
    const r = reconcile(lines, ledger);
    expect(r.summary).toEqual({
      matched: 0,
      missingInLedger: 1,
      missingInWallet: 1,
      amountMismatch: 1,
      feeMismatch: 1,
    });
    const by = Object.fromEntries(r.lines.map((l) => [l.partnerTransactionId, l.status]));
    expect(by).toEqual({
      pay_1: 'feeMismatch',
      rfd_1: 'amountMismatch',
      pay_9: 'missingInLedger',
      pay_2: 'missingInWallet',
    });
  });

  it('reports a duplicated line as missing in the ledger', () => {
    const r = reconcile(parseWalletFile('transaction', tx([PAY, PAY, RFD, JPY])).lines, ledger);
    expect(r.summary.matched).toBe(3);
    expect(r.summary.missingInLedger).toBe(1);
  });
});
