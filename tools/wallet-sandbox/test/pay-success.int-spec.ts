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

  it('carries XML-special and non-ASCII text through signing, the form body and the XML echo', async () => {
    const input = payInput(paymentCode('0043'), {
      subject: `Zoo & Park <VIP> 'day' "pass" 动物园门票`,
      merchant: { id: 'mch_zoo2', name: 'Zoo & Co <Ltd>', mcc: '7991', storeId: 'gate_b', storeName: '北门 & co' },
    });
    const result = await h.gateway.pay(input);
    expect(result.kind).toBe('succeeded');
    const trade = await sandboxTrade(h.sandbox, input.partnerTransId);
    expect(trade).toMatchObject({ secondaryMerchantId: 'mch_zoo2', storeId: 'gate_b' });
    const res = await fetch(`${h.sandbox.url}/trades?partnerTransId=${input.partnerTransId}`);
    const body = (await res.json()) as {
      data: Array<{ transName: string; secondaryMerchantName: string; storeName: string }>;
    };
    expect(body.data[0]).toMatchObject({
      transName: `Zoo & Park <VIP> 'day' 'pass' 动物园门票`,
      secondaryMerchantName: 'Zoo & Co <Ltd>',
      storeName: '北门 & co',
    });
  });
});
