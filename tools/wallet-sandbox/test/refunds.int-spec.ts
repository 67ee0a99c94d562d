import type { Money } from '@admit/contracts';
import { paymentCode, payInput, sandboxTrade, startHarness, transId, type Harness } from './sandbox-harness';

describe('spot.refund through the adapter', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  async function paid(amount: Money = { value: 100_00, currency: 'CNY' }): Promise<string> {
    const input = payInput(paymentCode('0700'), { amount });
    const result = await h.gateway.pay(input);
    if (result.kind !== 'succeeded') throw new Error(`pay failed: ${JSON.stringify(result)}`);
    return input.partnerTransId;
  }

  it('refunds partially, repeatedly, up to the paid amount and never above it', async () => {
    const id = await paid();
    const cny = (value: number) => ({ value, currency: 'CNY' as const });
    expect(
      await h.gateway.refund({
        partnerTransId: id,
        partnerRefundId: transId('r'),
        amount: cny(30_00),
        reason: 'one ticket',
      }),
    ).toMatchObject({ kind: 'succeeded', amount: cny(30_00) });
    expect(
      await h.gateway.refund({ partnerTransId: id, partnerRefundId: transId('r'), amount: cny(50_00) }),
    ).toMatchObject({ kind: 'succeeded' });
    // 20.00 left: 20.01 is too much
    expect(
      await h.gateway.refund({ partnerTransId: id, partnerRefundId: transId('r'), amount: cny(20_01) }),
    ).toMatchObject({ kind: 'failed', code: 'REFUND_EXCEEDS_PAYMENT', walletCode: 'REFUND_AMOUNT_EXCEED' });
    expect(await h.gateway.query(id)).toMatchObject({ kind: 'paid' });
    expect(
      await h.gateway.refund({ partnerTransId: id, partnerRefundId: transId('r'), amount: cny(20_00) }),
    ).toMatchObject({ kind: 'succeeded' });
    // fully refunded: the trade is closed, and nothing more can be refunded
    expect(await h.gateway.query(id)).toMatchObject({ kind: 'closed' });
    expect(await h.gateway.refund({ partnerTransId: id, partnerRefundId: transId('r'), amount: cny(1) })).toMatchObject(
      { kind: 'failed', code: 'REFUND_EXCEEDS_PAYMENT' },
    );
    const trade = await sandboxTrade(h.sandbox, id);
    expect(trade?.refunded).toEqual(cny(100_00));
    expect(trade?.refunds.map((r) => r.amount.value)).toEqual([30_00, 50_00, 20_00]);
  });

  it('is idempotent by partner_refund_id: a retry refunds once', async () => {
    const id = await paid();
    const refundId = transId('r');
    const request = {
      partnerTransId: id,
      partnerRefundId: refundId,
      amount: { value: 40_00, currency: 'CNY' as const },
    };
    const first = await h.gateway.refund(request);
    const second = await h.gateway.refund(request);
    expect(first).toMatchObject({ kind: 'succeeded' });
    expect(second).toEqual(first);
    expect((await sandboxTrade(h.sandbox, id))?.refunded.value).toBe(40_00);
    // the same refund id with another amount is refused
    expect(await h.gateway.refund({ ...request, amount: { value: 41_00, currency: 'CNY' } })).toMatchObject({
      kind: 'failed',
      code: 'DUPLICATE_TRANSACTION_ID',
      walletCode: 'CONTEXT_INCONSISTENT',
    });
    expect((await sandboxTrade(h.sandbox, id))?.refunded.value).toBe(40_00);
  });

  it('a refund whose answer was lost is safely retried with the same id', async () => {
    const id = await paid();
    const request = {
      partnerTransId: id,
      partnerRefundId: transId('r'),
      amount: { value: 10_00, currency: 'CNY' as const },
    };
    h.sandbox.faults.arm({
      fault: 'bad_response_sign',
      partnerTransId: id,
      service: 'alipay.acquire.overseas.spot.refund',
      count: 1,
      delayMs: 0,
    });
    expect(await h.gateway.refund(request)).toMatchObject({ kind: 'unknown' });
    expect(await h.gateway.refund(request)).toMatchObject({ kind: 'succeeded' });
    expect((await sandboxTrade(h.sandbox, id))?.refunded.value).toBe(10_00);
  });

  it('requires the payment currency', async () => {
    const id = await paid();
    expect(
      await h.gateway.refund({
        partnerTransId: id,
        partnerRefundId: transId('r'),
        amount: { value: 1_00, currency: 'USD' },
      }),
    ).toMatchObject({ kind: 'failed', code: 'CURRENCY_NOT_SUPPORTED', walletCode: 'CURRENCY_NOT_MATCH' });
  });

  it('refuses unknown, unpaid and cancelled trades', async () => {
    const amount = { value: 1_00, currency: 'CNY' as const };
    expect(
      await h.gateway.refund({ partnerTransId: transId('none'), partnerRefundId: transId('r'), amount }),
    ).toMatchObject({ kind: 'failed', code: 'PAYMENT_NOT_FOUND', walletCode: 'TRADE_NOT_EXIST' });

    const waiting = payInput(paymentCode('2100'));
    expect((await h.gateway.pay(waiting)).kind).toBe('unknown');
    expect(
      await h.gateway.refund({ partnerTransId: waiting.partnerTransId, partnerRefundId: transId('r'), amount }),
    ).toMatchObject({ kind: 'failed', code: 'TRADE_STATE_CONFLICT', walletCode: 'TRADE_STATUS_ERROR' });

    const reversed = await paid();
    expect(await h.gateway.cancel(reversed)).toMatchObject({ kind: 'cancelled', action: 'refund' });
    expect(await h.gateway.refund({ partnerTransId: reversed, partnerRefundId: transId('r'), amount })).toMatchObject({
      kind: 'failed',
      code: 'BUYER_NOT_PAID',
      walletCode: 'TRADE_HAS_CLOSE',
    });
  });

  it('cannot cancel a trade once it has refunds', async () => {
    const id = await paid();
    expect(
      (
        await h.gateway.refund({
          partnerTransId: id,
          partnerRefundId: transId('r'),
          amount: { value: 1_00, currency: 'CNY' },
        })
      ).kind,
    ).toBe('succeeded');
    expect(await h.gateway.cancel(id)).toMatchObject({ kind: 'failed', code: 'TRADE_STATE_CONFLICT' });
  });

  it('refunds a JPY trade in whole yen and reports the CNY amount at the payment rate', async () => {
    const id = await paid({ value: 1_000, currency: 'JPY' });
    expect(
      await h.gateway.refund({
        partnerTransId: id,
        partnerRefundId: transId('r'),
        amount: { value: 333, currency: 'JPY' },
      }),
    ).toEqual({
      kind: 'succeeded',
      amount: { value: 333, currency: 'JPY' },
      walletTransactionId: expect.stringMatching(/^\d{28}$/) as unknown,
      exchangeRate: '0.048',
      settlementAmount: { value: 1598, currency: 'CNY' }, // 333 × 0.048 = 15.984 → 15.98
    });
  });
});
