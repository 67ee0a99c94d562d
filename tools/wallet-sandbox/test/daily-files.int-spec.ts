import { SETTLEMENT_COLUMNS, TRANSACTION_COLUMNS } from '../src/daily-files';
import { paymentCode, payInput, sandboxTrade, startHarness, transId, type Harness } from './sandbox-harness';

/**
 * The daily files for one GMT+8 day, checked line by line. The sandbox clock is set by the test,
 * so the day boundary (16:00 UTC) can be crossed on purpose.
 */
describe('daily transaction and settlement files', () => {
  let h: Harness;
  let clock = new Date('2026-03-10T02:00:00Z'); // 10:00:00 GMT+8
  const at = (utc: string): void => {
    clock = new Date(utc);
  };
  const ids: Record<string, string> = {};
  const tradeIds: Record<string, string> = {};

  async function pay(name: string, last: string, amount: { value: number; currency: 'CNY' | 'JPY' }): Promise<string> {
    const input = payInput(paymentCode(last), { amount });
    await h.gateway.pay(input);
    ids[name] = input.partnerTransId;
    tradeIds[name] = (await sandboxTrade(h.sandbox, input.partnerTransId))?.alipayTransId ?? '';
    return input.partnerTransId;
  }

  beforeAll(async () => {
    h = await startHarness({ now: () => clock, feeRate: '0.006' });
    at('2026-03-10T02:00:00Z');
    await pay('cny', '0001', { value: 12_50, currency: 'CNY' });
    at('2026-03-10T02:05:00Z');
    const jpy = await pay('jpy', '0002', { value: 1_000, currency: 'JPY' });
    at('2026-03-10T02:10:00Z');
    ids['refund'] = transId('rfd');
    await h.gateway.refund({
      partnerTransId: jpy,
      partnerRefundId: ids['refund'],
      amount: { value: 300, currency: 'JPY' },
      reason: 'one ticket returned',
    });
    at('2026-03-10T02:15:00Z');
    const cancelled = await pay('cancelled', '0003', { value: 20_00, currency: 'CNY' });
    at('2026-03-10T02:20:00Z');
    await h.gateway.cancel(cancelled);
    at('2026-03-10T02:25:00Z');
    const reversed = await pay('reversed', '4003', { value: 5_00, currency: 'CNY' });
    at('2026-03-10T02:30:00Z');
    await h.gateway.cancel(reversed);
    at('2026-03-10T02:35:00Z');
    const unpaid = await pay('unpaid', '2003', { value: 7_00, currency: 'CNY' });
    await h.gateway.cancel(unpaid);
    await pay('failed', '3003', { value: 8_00, currency: 'CNY' });
    at('2026-03-10T15:59:59Z'); // 23:59:59 GMT+8: still 10 March
    await pay('lastSecond', '0004', { value: 1_00, currency: 'CNY' });
    at('2026-03-10T16:00:00Z'); // 00:00:00 GMT+8: 11 March
    await pay('nextDay', '0005', { value: 2_00, currency: 'CNY' });
  });
  afterAll(async () => {
    await h.close();
  });

  async function file(kind: 'transaction' | 'settlement', day: string): Promise<string[]> {
    const res = await fetch(`${h.sandbox.url}/files/${kind}/${day}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    return text.slice(0, -1).split('\n');
  }

  const tail = (industry = '7991') => `${industry}|City Zoo|Gate A ticket office|paymentQrCode`;

  it('transaction file: header, column names, PAYMENT/REFUND/CANCEL/REVERSAL rows of the GMT+8 day', async () => {
    const lines = await file('transaction', '2026-03-10');
    const s = (name: string): string => ids[name] ?? '';
    const t = (name: string): string => tradeIds[name] ?? '';
    expect(lines).toEqual([
      `Partner:${h.partnerId}|Payment_time:2026-03-10|Total_count:8`,
      TRANSACTION_COLUMNS.join('|'),
      `${s('cny')}|${t('cny')}|12.50|0.08|CNY|2026-03-10 10:00:00|PAYMENT|Zoo day ticket x1|${tail()}|CNY|12.50|1`,
      `${s('jpy')}|${t('jpy')}|1000|6|JPY|2026-03-10 10:05:00|PAYMENT|Zoo day ticket x1|${tail()}|JPY|1000|1`,
      `${s('refund')}|${t('jpy')}|300|0|JPY|2026-03-10 10:10:00|REFUND|one ticket returned|${tail()}|JPY|300|1`,
      `${s('cancelled')}|${t('cancelled')}|20.00|0.12|CNY|2026-03-10 10:15:00|PAYMENT|Zoo day ticket x1|${tail()}|CNY|20.00|1`,
      `${s('cancelled')}|${t('cancelled')}|20.00|0.12|CNY|2026-03-10 10:20:00|CANCEL|Zoo day ticket x1|${tail()}|CNY|20.00|1`,
      `${s('reversed')}|${t('reversed')}|5.00|0.03|CNY|2026-03-10 10:25:00|PAYMENT|Zoo day ticket x1|${tail()}|CNY|5.00|1`,
      `${s('reversed')}|${t('reversed')}|5.00|0.03|CNY|2026-03-10 10:30:00|REVERSAL|Zoo day ticket x1|${tail()}|CNY|5.00|1`,
      `${s('lastSecond')}|${t('lastSecond')}|1.00|0.01|CNY|2026-03-10 23:59:59|PAYMENT|Zoo day ticket x1|${tail()}|CNY|1.00|1`,
    ]);
  });

  it('the next GMT+8 day starts at 16:00 UTC', async () => {
    const lines = await file('transaction', '2026-03-11');
    expect(lines).toEqual([
      `Partner:${h.partnerId}|Payment_time:2026-03-11|Total_count:1`,
      TRANSACTION_COLUMNS.join('|'),
      `${ids['nextDay'] ?? ''}|${tradeIds['nextDay'] ?? ''}|2.00|0.01|CNY|2026-03-11 00:00:00|PAYMENT|Zoo day ticket x1|${tail()}|CNY|2.00|1`,
    ]);
  });

  it('settlement file: P/R rows with CNY amounts, fee, settled amounts and the rate', async () => {
    const lines = await file('settlement', '2026-03-10');
    const s = (name: string): string => ids[name] ?? '';
    const t = (name: string): string => tradeIds[name] ?? '';
    const st = '2026-03-10 23:59:59';
    expect(lines).toEqual([
      `Partner:${h.partnerId}|Settlement_time:2026-03-10|Total_count:8`,
      SETTLEMENT_COLUMNS.join('|'),
      `${s('cny')}|${t('cny')}|12.50|12.50|0.08|12.42|12.42|CNY|1|2026-03-10 10:00:00|${st}|P|L|Zoo day ticket x1|${tail()}|CNY|12.50|1`,
      // 1000 JPY × 0.048 = 48.00 CNY; settled 994 JPY × 0.048 = 47.712 → 47.71
      `${s('jpy')}|${t('jpy')}|1000|48.00|6|994|47.71|JPY|0.048|2026-03-10 10:05:00|${st}|P|L|Zoo day ticket x1|${tail()}|JPY|1000|1`,
      `${s('refund')}|${t('jpy')}|300|14.40|0|300|14.40|JPY|0.048|2026-03-10 10:10:00|${st}|R|L|REFUND one ticket returned|${tail()}|JPY|300|1`,
      `${s('cancelled')}|${t('cancelled')}|20.00|20.00|0.12|19.88|19.88|CNY|1|2026-03-10 10:15:00|${st}|P|L|Zoo day ticket x1|${tail()}|CNY|20.00|1`,
      // cancelled trades carry the wallet trade id as Partner_transaction_id
      `${t('cancelled')}|${t('cancelled')}|20.00|20.00|0.12|19.88|19.88|CNY|1|2026-03-10 10:20:00|${st}|R|L|CANCEL Zoo day ticket x1|${tail()}|CNY|20.00|1`,
      `${s('reversed')}|${t('reversed')}|5.00|5.00|0.03|4.97|4.97|CNY|1|2026-03-10 10:25:00|${st}|P|L|Zoo day ticket x1|${tail()}|CNY|5.00|1`,
      `${t('reversed')}|${t('reversed')}|5.00|5.00|0.03|4.97|4.97|CNY|1|2026-03-10 10:30:00|${st}|R|L|REVERSAL Zoo day ticket x1|${tail()}|CNY|5.00|1`,
      `${s('lastSecond')}|${t('lastSecond')}|1.00|1.00|0.01|0.99|0.99|CNY|1|2026-03-10 23:59:59|${st}|P|L|Zoo day ticket x1|${tail()}|CNY|1.00|1`,
    ]);
  });

  it('a day without transactions has a header and column names only', async () => {
    expect(await file('transaction', '2026-03-09')).toEqual([
      `Partner:${h.partnerId}|Payment_time:2026-03-09|Total_count:0`,
      TRANSACTION_COLUMNS.join('|'),
    ]);
  });

  it('rejects an impossible date', async () => {
    const res = await fetch(`${h.sandbox.url}/files/transaction/2026-02-30`);
    expect(res.status).toBe(400);
  });

  it('GET /trades filters by GMT+8 date and status', async () => {
    const res = await fetch(`${h.sandbox.url}/trades?date=2026-03-10&status=TRADE_CLOSED`);
    const body = (await res.json()) as { data: Array<{ partnerTransId: string }> };
    expect(body.data.map((t) => t.partnerTransId).sort()).toEqual(
      [ids['cancelled'], ids['reversed'], ids['unpaid'], ids['failed']].map((x) => x ?? '').sort(),
    );
    const bad = await fetch(`${h.sandbox.url}/trades?date=10-03-2026`);
    expect(bad.status).toBe(400);
  });
});
