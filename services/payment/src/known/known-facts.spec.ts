import type { DataSource } from 'typeorm';
import type { PaymentSettings } from '../config';
import { KnownFacts } from './known-facts';

/** A DataSource whose query answers `rows` from the `appearsAfter`-th call on (the event lag). */
function fakeDs(rows: unknown[], appearsAfter: number) {
  const calls: unknown[][] = [];
  const ds = {
    query: (_sql: string, params: unknown[]) => {
      calls.push(params);
      return Promise.resolve(calls.length > appearsAfter ? rows : []);
    },
  } as unknown as DataSource;
  return { ds, calls };
}

const settings = (orderWaitMs: number) => ({ orderWaitMs }) as PaymentSettings;
const order = { order_id: 'ord_1', merchant_id: 'mch_1', amount_due: '100', currency: 'CNY', status: 'open' };

describe('KnownFacts waits', () => {
  it('finds an order known at once without waiting', async () => {
    const { ds, calls } = fakeDs([order], 0);
    await expect(new KnownFacts(ds, settings(3000)).orderOf('mch_1', 'ord_1')).resolves.toEqual(order);
    expect(calls).toEqual([['ord_1', 'mch_1']]);
  });

  it('waits, polling, for an order that becomes known within the budget', async () => {
    const { ds, calls } = fakeDs([order], 3);
    const started = Date.now();
    await expect(new KnownFacts(ds, settings(3000)).orderOf('mch_1', 'ord_1')).resolves.toEqual(order);
    expect(calls).toHaveLength(4);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("gives up after the budget: null (unknown, or another merchant's)", async () => {
    const { ds, calls } = fakeDs([order], Number.MAX_SAFE_INTEGER);
    const started = Date.now();
    await expect(new KnownFacts(ds, settings(300)).orderOf('mch_2', 'ord_1')).resolves.toBeNull();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(1000);
    expect(calls.length).toBeGreaterThan(2);
    expect(calls[0]).toEqual(['ord_1', 'mch_2']);
  });

  it('a zero budget looks once', async () => {
    const { ds, calls } = fakeDs([], 0);
    await expect(new KnownFacts(ds, settings(0)).ownsAttraction('mch_1', 'att_1')).resolves.toBe(false);
    expect(calls).toEqual([['att_1', 'mch_1']]);
  });
});
