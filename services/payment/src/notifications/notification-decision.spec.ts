import type { QueryResult } from '../wallet';
import { decideOnNotification } from './notification-decision';

const amount = { value: 5000, currency: 'CNY' as const };
const paid: QueryResult = { kind: 'paid', walletTransactionId: 'w9', paidAt: new Date('2026-05-01T09:00:03Z'), amount };

describe('decideOnNotification (a notification is a hint confirmed by query)', () => {
  it('a processing payment the query confirms paid → succeed', () => {
    expect(decideOnNotification({ status: 'processing', phase: 'query', amount }, paid)).toEqual({
      kind: 'succeed',
      trade: { walletTransactionId: 'w9', paidAt: new Date('2026-05-01T09:00:03Z') },
    });
  });

  it('a signed "success" the query does not confirm changes nothing', () => {
    expect(decideOnNotification({ status: 'processing', phase: 'query', amount }, { kind: 'waiting' }).kind).toBe(
      'none',
    );
    expect(
      decideOnNotification({ status: 'processing', phase: 'query', amount }, { kind: 'unknown', reason: 'timeout' })
        .kind,
    ).toBe('none');
  });

  it('closed trade → failed', () => {
    expect(decideOnNotification({ status: 'processing', phase: 'query', amount }, { kind: 'closed' }).kind).toBe(
      'fail',
    );
  });

  it('while a cancel runs, the cancel decides (no success after a cancel was sent)', () => {
    expect(decideOnNotification({ status: 'processing', phase: 'cancel', amount }, paid).kind).toBe('none');
    expect(decideOnNotification({ status: 'processing', phase: 'alarm', amount }, paid).kind).toBe('none');
  });

  it('never moves a final payment backwards', () => {
    expect(decideOnNotification({ status: 'succeeded', phase: null, amount }, { kind: 'closed' }).kind).toBe('none');
    expect(decideOnNotification({ status: 'cancelled', phase: null, amount }, { kind: 'closed' }).kind).toBe('none');
    expect(decideOnNotification({ status: 'failed', phase: null, amount }, { kind: 'waiting' }).kind).toBe('none');
  });

  it('a confirmed paid trade for a cancelled or failed payment is an anomaly, not a change', () => {
    expect(decideOnNotification({ status: 'cancelled', phase: null, amount }, paid).kind).toBe('anomaly');
    expect(decideOnNotification({ status: 'failed', phase: null, amount }, paid).kind).toBe('anomaly');
  });

  it('a paid trade for another amount is an anomaly', () => {
    expect(
      decideOnNotification({ status: 'processing', phase: 'query', amount }, {
        ...paid,
        amount: { value: 1, currency: 'CNY' },
      } as QueryResult).kind,
    ).toBe('anomaly');
  });
});
