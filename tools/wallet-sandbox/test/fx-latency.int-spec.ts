import { DEFAULT_FX_RATES } from '../src/sandbox-config';
import { paymentCode, payInput, sandboxTrade, startHarness, type Harness } from './sandbox-harness';

describe('FX: exchange_rate and trans_amount_cny for non-CNY trades', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ fxRates: { ...DEFAULT_FX_RATES, EUR: '7.85' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each([
    [{ value: 12_34, currency: 'USD' as const }, '7.1', 87_61], // 87.614 → 87.61
    [{ value: 1_000, currency: 'JPY' as const }, '0.048', 48_00],
    [{ value: 10_01, currency: 'EUR' as const }, '7.85', 78_58], // 78.5785 → 78.58 (configured rate)
    [{ value: 5, currency: 'JPY' as const }, '0.048', 24], // 0.24
  ])('pays %j at rate %s → %i fen', async (amount, rate, fen) => {
    const input = payInput(paymentCode('0050'), { amount });
    const result = await h.gateway.pay(input);
    expect(result).toMatchObject({
      kind: 'succeeded',
      exchangeRate: rate,
      settlementAmount: { value: fen, currency: 'CNY' },
    });
    expect(await h.gateway.query(input.partnerTransId)).toMatchObject({
      kind: 'paid',
      exchangeRate: rate,
      settlementAmount: { value: fen, currency: 'CNY' },
    });
    expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toMatchObject({
      exchangeRate: rate,
      amountCny: { value: fen, currency: 'CNY' },
    });
  });

  it('sends no FX fields for CNY trades', async () => {
    const result = await h.gateway.pay(payInput(paymentCode('0051')));
    expect(result.kind).toBe('succeeded');
    expect(result).not.toHaveProperty('exchangeRate');
    expect(result).not.toHaveProperty('settlementAmount');
  });

  it('refuses a currency without a configured rate', async () => {
    const bare = await startHarness({ fxRates: { CNY: '1' } });
    try {
      expect(
        await bare.gateway.pay(payInput(paymentCode('0052'), { amount: { value: 100, currency: 'USD' } })),
      ).toMatchObject({
        kind: 'failed',
        code: 'CURRENCY_NOT_SUPPORTED',
        walletCode: 'EXCHANGE_AMOUNT_OR_CURRENCY_ERROR',
      });
    } finally {
      await bare.close();
    }
  });
});

describe('injected latency and sub-merchant registration', () => {
  it('SANDBOX_LATENCY_MS delays every gateway answer', async () => {
    const h = await startHarness({ latencyMs: 250 });
    try {
      const started = Date.now();
      expect((await h.gateway.pay(payInput(paymentCode('0060')))).kind).toBe('succeeded');
      expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    } finally {
      await h.close();
    }
  });

  it('stores a registration, and with registration required refuses unregistered stores', async () => {
    const h = await startHarness({ requireRegistration: true });
    try {
      const merchant = {
        id: 'mch_reg_1',
        name: 'Aquarium',
        mcc: '7991',
        storeId: 'st_north',
        storeName: 'North entrance',
      };
      expect(await h.gateway.pay(payInput(paymentCode('0070'), { merchant }))).toMatchObject({
        kind: 'failed',
        code: 'WALLET_CONFIG_ERROR',
        walletCode: 'SECONDARY_MERCHANT_NOT_EXIST',
      });
      expect(await h.gateway.registerMerchant({ ...merchant, country: 'JP', address: '1-1 Harbour' })).toEqual({
        kind: 'registered',
      });
      expect(await h.gateway.registerMerchant({ ...merchant, name: 'Aquarium Ltd', country: 'JP' })).toEqual({
        kind: 'registered',
      });
      expect((await h.gateway.pay(payInput(paymentCode('0071'), { merchant }))).kind).toBe('succeeded');
      expect(
        await h.gateway.pay(payInput(paymentCode('0072'), { merchant: { ...merchant, storeId: 'st_south' } })),
      ).toMatchObject({ kind: 'failed', walletCode: 'SECONDARY_MERCHANT_NOT_EXIST' });
      expect(await h.gateway.registerMerchant({ ...merchant, mcc: '79', country: 'JP' })).toMatchObject({
        kind: 'failed',
        code: 'WALLET_REQUEST_INVALID',
        walletCode: 'ILLEGAL_ARGUMENT',
      });
    } finally {
      await h.close();
    }
  });
});
