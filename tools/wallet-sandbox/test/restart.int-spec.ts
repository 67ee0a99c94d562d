import { paymentCode, payInput, randomPartnerId, sandboxTrade, startHarness, transId } from './sandbox-harness';

describe('restart persistence (same database, new process state)', () => {
  it('keeps trades, refunds, pending confirmations and idempotency across a restart', async () => {
    const partnerId = randomPartnerId();
    const paid = payInput(paymentCode('0600'));
    const waiting = payInput(paymentCode('2600'));
    const confirming = payInput(paymentCode('1600'));
    const refundId = transId('rfd');

    const first = await startHarness({ partnerId, confirmDelayMs: 1_000 });
    const walletTransactionId = await (async () => {
      const result = await first.gateway.pay(paid);
      if (result.kind !== 'succeeded') throw new Error('pay failed');
      return result.walletTransactionId;
    })().catch(async (err: unknown) => {
      await first.close();
      throw err;
    });
    try {
      expect(
        (
          await first.gateway.refund({
            partnerTransId: paid.partnerTransId,
            partnerRefundId: refundId,
            amount: { value: 2_50, currency: 'CNY' },
          })
        ).kind,
      ).toBe('succeeded');
      expect((await first.gateway.pay(waiting)).kind).toBe('unknown');
      expect((await first.gateway.pay(confirming)).kind).toBe('unknown');
    } finally {
      await first.close();
    }

    // the buyer confirms while the sandbox is down
    await new Promise((r) => setTimeout(r, 1_100));

    const second = await startHarness({ partnerId, confirmDelayMs: 1_000 });
    try {
      expect(await second.gateway.query(paid.partnerTransId)).toMatchObject({ kind: 'paid', walletTransactionId });
      expect(await second.gateway.query(waiting.partnerTransId)).toMatchObject({ kind: 'waiting' });
      expect(await second.gateway.query(confirming.partnerTransId)).toMatchObject({ kind: 'paid' });
      // the same pay again is answered from the stored trade
      expect(await second.gateway.pay(paid)).toMatchObject({ kind: 'succeeded', walletTransactionId });
      // the refund id is still known: a retry does not refund twice
      expect(
        (
          await second.gateway.refund({
            partnerTransId: paid.partnerTransId,
            partnerRefundId: refundId,
            amount: { value: 2_50, currency: 'CNY' },
          })
        ).kind,
      ).toBe('succeeded');
      expect((await sandboxTrade(second.sandbox, paid.partnerTransId))?.refunded.value).toBe(2_50);
      expect(await second.gateway.cancel(waiting.partnerTransId)).toEqual({ kind: 'cancelled', action: 'close' });
    } finally {
      await second.close();
    }
  });
});
