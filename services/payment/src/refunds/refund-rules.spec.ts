import {
  checkRefund,
  decideAfterRefund,
  REFUND_ALARM_AFTER_ATTEMPTS,
  refundRetryDelayMs,
  refundTotals,
  type RefundablePayment,
} from './refund-rules';

const paid: RefundablePayment = {
  status: 'succeeded',
  amount: { value: 10000, currency: 'CNY' },
  cancelPending: false,
};
const cny = (value: number) => ({ value, currency: 'CNY' as const });

describe('checkRefund (rule 11)', () => {
  it('allows partial and repeated refunds up to exactly the captured amount', () => {
    expect(checkRefund(paid, 0, cny(3000))).toEqual({ ok: true, refundedAfter: 3000 });
    expect(checkRefund(paid, 3000, cny(3000))).toEqual({ ok: true, refundedAfter: 6000 });
    expect(checkRefund(paid, 6000, cny(4000))).toEqual({ ok: true, refundedAfter: 10000 });
  });

  it('refuses one minor unit above the captured amount with 422 REFUND_EXCEEDS_PAYMENT', () => {
    expect(checkRefund(paid, 6000, cny(4001))).toMatchObject({
      ok: false,
      status: 422,
      code: 'REFUND_EXCEEDS_PAYMENT',
    });
    expect(checkRefund(paid, 0, cny(10001))).toMatchObject({ ok: false, status: 422, code: 'REFUND_EXCEEDS_PAYMENT' });
    expect(checkRefund(paid, 10000, cny(1))).toMatchObject({ ok: false, code: 'REFUND_EXCEEDS_PAYMENT' });
  });

  it('refuses another currency with 422 CURRENCY_MISMATCH', () => {
    expect(checkRefund(paid, 0, { value: 100, currency: 'USD' })).toMatchObject({
      ok: false,
      status: 422,
      code: 'CURRENCY_MISMATCH',
    });
  });

  it.each(['processing', 'failed', 'cancelled'] as const)('refuses a %s payment with 409', (status) => {
    expect(checkRefund({ ...paid, status }, 0, cny(1))).toMatchObject({
      ok: false,
      status: 409,
      code: 'PAYMENT_NOT_REFUNDABLE',
    });
  });

  it('refuses while a cancel is pending', () => {
    expect(checkRefund({ ...paid, cancelPending: true }, 0, cny(1))).toMatchObject({
      ok: false,
      status: 409,
      code: 'PAYMENT_CANCEL_IN_PROGRESS',
    });
  });

  it('refuses zero', () => {
    expect(checkRefund(paid, 0, cny(0))).toMatchObject({ ok: false, status: 422 });
  });

  it('works in whole units for JPY', () => {
    const jpy: RefundablePayment = {
      status: 'succeeded',
      amount: { value: 1200, currency: 'JPY' },
      cancelPending: false,
    };
    expect(checkRefund(jpy, 1000, { value: 200, currency: 'JPY' })).toEqual({ ok: true, refundedAfter: 1200 });
    expect(checkRefund(jpy, 1000, { value: 201, currency: 'JPY' })).toMatchObject({
      ok: false,
      code: 'REFUND_EXCEEDS_PAYMENT',
    });
  });
});

describe('refundTotals', () => {
  it('reports the running total and whether the payment is fully refunded', () => {
    expect(refundTotals(cny(10000), 3000, cny(3000))).toEqual({ refundedTotal: cny(6000), fullyRefunded: false });
    expect(refundTotals(cny(10000), 6000, cny(4000))).toEqual({ refundedTotal: cny(10000), fullyRefunded: true });
  });
});

describe('decideAfterRefund (rule 10)', () => {
  const now = new Date('2026-05-01T10:00:00Z');
  it('succeeded and failed are final', () => {
    expect(decideAfterRefund({ kind: 'succeeded', amount: cny(100) }, 1, now).kind).toBe('succeeded');
    expect(
      decideAfterRefund(
        { kind: 'failed', code: 'REFUND_EXCEEDS_PAYMENT', message: 'm', walletCode: 'REFUND_AMOUNT_EXCEED' },
        1,
        now,
      ),
    ).toEqual({
      kind: 'failed',
      code: 'REFUND_EXCEEDS_PAYMENT',
      message: 'm',
    });
  });

  it('unknown is retried on a growing schedule, never given up, alarming once', () => {
    const delays = [1, 2, 3, 4, 5, 6, 10, 50].map(refundRetryDelayMs);
    expect(delays.slice(0, 5)).toEqual([2000, 3000, 3000, 5000, 5000]);
    expect(delays[7]).toBe(300000);
    const alarms = Array.from({ length: 30 }, (_, i) =>
      decideAfterRefund({ kind: 'unknown', reason: 'timeout' }, i + 1, now),
    ).filter((d) => d.kind === 'retry' && d.alarm);
    expect(alarms).toHaveLength(1);
    const d = decideAfterRefund({ kind: 'unknown', reason: 'timeout' }, REFUND_ALARM_AFTER_ATTEMPTS + 5, now);
    expect(d.kind).toBe('retry');
  });
});
