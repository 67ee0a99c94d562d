import type { QueryResult } from '../wallet';
import {
  CANCEL_RETRY_DELAYS_MS,
  cancelOutcome,
  decideAfterCancel,
  decideAfterQuery,
  FIRST_QUERY_DELAY_MS,
  firstQueryAt,
  queryIntervalMs,
  type QueryContext,
} from './resolution';

const created = new Date('2026-05-01T09:00:00.000Z');
const at = (ms: number) => new Date(created.getTime() + ms);
const ctx = (nowMs: number, queriesDone: number, windowMs = 60_000): QueryContext => ({
  now: at(nowMs),
  createdAt: created,
  windowMs,
  queriesDone,
  amount: { value: 12000, currency: 'CNY' },
});
const paid: QueryResult = {
  kind: 'paid',
  walletTransactionId: 'w1',
  paidAt: at(4000),
  exchangeRate: '1',
  amount: { value: 12000, currency: 'CNY' },
};

describe('query schedule (rule 4)', () => {
  it('queries first 2–3 s after creation', () => {
    expect(FIRST_QUERY_DELAY_MS).toBeGreaterThanOrEqual(2000);
    expect(FIRST_QUERY_DELAY_MS).toBeLessThanOrEqual(3000);
    expect(firstQueryAt(created).getTime() - created.getTime()).toBe(FIRST_QUERY_DELAY_MS);
  });

  it('then every 3–5 s, settling at 5 s', () => {
    const gaps = [1, 2, 3, 4, 5, 6, 20].map(queryIntervalMs);
    expect(gaps).toEqual([3000, 3000, 4000, 4000, 5000, 5000, 5000]);
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(3000);
      expect(g).toBeLessThanOrEqual(5000);
    }
  });

  it('walks a 60 s window: about 14 queries, the last one on the window end, then cancel', () => {
    let now = FIRST_QUERY_DELAY_MS;
    let queries = 0;
    const times: number[] = [];
    for (;;) {
      queries++;
      times.push(now);
      const d = decideAfterQuery({ kind: 'waiting' }, ctx(now, queries));
      if (d.kind === 'cancel') break;
      if (d.kind !== 'query_again') throw new Error(`unexpected ${d.kind}`);
      now = d.at.getTime() - created.getTime();
    }
    expect(times[times.length - 1]).toBe(60_000);
    expect(queries).toBeGreaterThanOrEqual(12);
    expect(queries).toBeLessThanOrEqual(20);
    for (let i = 1; i < times.length - 1; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(3000);
  });
});

describe('decideAfterQuery (rule 5)', () => {
  it('TRADE_SUCCESS → succeed with the trade details (exchange rate, settlement)', () => {
    const d = decideAfterQuery(
      { ...paid, settlementAmount: { value: 1200, currency: 'CNY' } } as QueryResult,
      ctx(3000, 1),
    );
    expect(d).toEqual({
      kind: 'succeed',
      trade: {
        walletTransactionId: 'w1',
        paidAt: at(4000),
        exchangeRate: '1',
        settlementAmount: { value: 1200, currency: 'CNY' },
      },
    });
  });

  it('TRADE_SUCCESS for another amount → alarm, never succeed', () => {
    const d = decideAfterQuery({ ...paid, amount: { value: 1, currency: 'CNY' } } as QueryResult, ctx(3000, 1));
    expect(d.kind).toBe('alarm');
  });

  it('TRADE_CLOSED → failed BUYER_NOT_PAID, even before the window ends', () => {
    expect(decideAfterQuery({ kind: 'closed' }, ctx(3000, 1))).toMatchObject({ kind: 'fail', code: 'BUYER_NOT_PAID' });
  });

  it.each<QueryResult>([{ kind: 'waiting' }, { kind: 'not_found' }, { kind: 'unknown', reason: 'timeout' }])(
    '%o inside the window → query again, never fail',
    (q) => {
      const d = decideAfterQuery(q, ctx(10_000, 3));
      expect(d).toEqual({ kind: 'query_again', at: at(10_000 + 4000) });
    },
  );

  it('the next query never goes past the window end', () => {
    expect(decideAfterQuery({ kind: 'waiting' }, ctx(58_000, 10))).toEqual({ kind: 'query_again', at: at(60_000) });
  });

  it.each<QueryResult>([{ kind: 'waiting' }, { kind: 'not_found' }, { kind: 'unknown', reason: 'x' }])(
    '%o at or after the window end → cancel',
    (q) => {
      expect(decideAfterQuery(q, ctx(60_000, 14))).toEqual({ kind: 'cancel' });
      expect(decideAfterQuery(q, ctx(600_000, 1))).toEqual({ kind: 'cancel' });
    },
  );

  it('a paid answer wins even after the window (a late query still finds the payment)', () => {
    expect(decideAfterQuery(paid, ctx(600_000, 1)).kind).toBe('succeed');
  });
});

describe('decideAfterCancel (rule 6)', () => {
  const now = at(61_000);

  it('close / refund actions map to closed / reversed', () => {
    expect(
      decideAfterCancel({ kind: 'cancelled', action: 'close' }, { now, cancelsDone: 1, status: 'processing' }),
    ).toEqual({ kind: 'closed' });
    expect(
      decideAfterCancel({ kind: 'cancelled', action: 'refund' }, { now, cancelsDone: 1, status: 'processing' }),
    ).toEqual({ kind: 'reversed' });
  });

  it('without an action: a succeeded payment was reversed, a processing one closed', () => {
    expect(decideAfterCancel({ kind: 'cancelled' }, { now, cancelsDone: 1, status: 'succeeded' })).toEqual({
      kind: 'reversed',
    });
    expect(decideAfterCancel({ kind: 'cancelled' }, { now, cancelsDone: 1, status: 'processing' })).toEqual({
      kind: 'closed',
    });
  });

  it('retries on the 2,3,3,5,5 s schedule, then alarms', () => {
    expect(CANCEL_RETRY_DELAYS_MS).toEqual([2000, 3000, 3000, 5000, 5000]);
    const delays: number[] = [];
    for (let done = 1; done <= 5; done++) {
      const d = decideAfterCancel(
        { kind: 'retry', reason: 'UNKNOWN' },
        { now, cancelsDone: done, status: 'processing' },
      );
      if (d.kind !== 'retry') throw new Error(`attempt ${done}: ${d.kind}`);
      delays.push(d.at.getTime() - now.getTime());
    }
    expect(delays).toEqual([2000, 3000, 3000, 5000, 5000]);
    expect(
      decideAfterCancel({ kind: 'retry', reason: 'UNKNOWN' }, { now, cancelsDone: 6, status: 'processing' }).kind,
    ).toBe('alarm');
  });

  it('retry_flag=N on a processing payment → alarm (never failed, never succeeded)', () => {
    const d = decideAfterCancel(
      { kind: 'failed', code: 'TRADE_STATE_CONFLICT', message: 'm', walletCode: 'TRADE_STATUS_ERROR' },
      { now, cancelsDone: 1, status: 'processing' },
    );
    expect(d.kind).toBe('alarm');
  });

  it('a refused reversal of a succeeded payment leaves it succeeded (refused, with the code)', () => {
    const d = decideAfterCancel(
      { kind: 'failed', code: 'CANCEL_WINDOW_EXPIRED', message: 'refund instead', walletCode: 'TRADE_CANCEL_TIME_OUT' },
      { now, cancelsDone: 1, status: 'succeeded' },
    );
    expect(d).toEqual({ kind: 'refused', code: 'CANCEL_WINDOW_EXPIRED', message: 'refund instead' });
  });
});

describe('cancelOutcome', () => {
  it('window ended and the wallet closed the unpaid trade → failed BUYER_NOT_PAID', () => {
    expect(cancelOutcome('closed', 'timeout')).toMatchObject({ status: 'failed', code: 'BUYER_NOT_PAID' });
  });
  it('a reversal is always cancelled with reversed=true', () => {
    expect(cancelOutcome('reversed', 'timeout')).toEqual({ status: 'cancelled', reversed: true });
    expect(cancelOutcome('reversed', 'merchant')).toEqual({ status: 'cancelled', reversed: true });
  });
  it("a merchant's cancel of an unpaid trade → cancelled, not reversed", () => {
    expect(cancelOutcome('closed', 'merchant')).toEqual({ status: 'cancelled', reversed: false });
  });
});
