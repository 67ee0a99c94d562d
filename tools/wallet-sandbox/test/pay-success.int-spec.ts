import { paymentCode, payInput, sandboxTrade, startHarness, type Harness } from './sandbox-harness';

describe('wallet sandbox ⇄ Alipay mapi adapter: paid at once (MD5)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it('pays a 0xxx code at once: SUCCESS, verified signature, wallet trade recorded', async () => {
    const input = payInput(paymentCode('0042'));
    const result = await h.gateway.pay(input);
    if (result.kind !== 'succeeded') throw new Error(`expected succeeded, got ${JSON.stringify(result)}`);
    expect(result.walletTransactionId).toMatch(/^\d{28}$/);
    expect(Math.abs(result.paidAt.getTime() - Date.now())).toBeLessThan(5_000);
    expect(result.exchangeRate).toBeUndefined(); // CNY trade: no FX fields
    const trade = await sandboxTrade(h.sandbox, input.partnerTransId);
    expect(trade).toMatchObject({
      alipayTransId: result.walletTransactionId,
      status: 'TRADE_SUCCESS',
      amount: { value: 1250, currency: 'CNY' },
      secondaryMerchantId: 'mch_zoo1',
      storeId: 'store_gate_a',
      payCalls: 1,
    });
  });

  it('pays a 9xxx code at once as well', async () => {
    const result = await h.gateway.pay(payInput(paymentCode('9999')));
    expect(result.kind).toBe('succeeded');
  });
});
