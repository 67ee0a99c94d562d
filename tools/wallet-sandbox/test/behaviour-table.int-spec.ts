import { paymentCode, payInput, sandboxTrade, startHarness, transId, type Harness } from './sandbox-harness';

/** Every row of the payment-code behaviour table, driven through the real adapter. */
describe('behaviour table (last four digits of the payment code)', () => {
  let h: Harness;
  let clockOffsetMs = 0;
  const CONFIRM_DELAY_MS = 800;
  const HOLD_MS = 1_500;

  beforeAll(async () => {
    h = await startHarness({
      confirmDelayMs: CONFIRM_DELAY_MS,
      timeoutSleepMs: HOLD_MS,
      now: () => new Date(Date.now() + clockOffsetMs),
    });
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(() => {
    clockOffsetMs = 0;
  });

  it.each(['0000', '0999', '9000', '9999'])('%s: paid at once (SUCCESS)', async (last) => {
    const input = payInput(paymentCode(last));
    const result = await h.gateway.pay(input);
    expect(result.kind).toBe('succeeded');
    expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'paid' });
  });

  it('1xxx: UNKNOW, WAIT_BUYER_PAY until the buyer confirms, then TRADE_SUCCESS', async () => {
    const input = payInput(paymentCode('1234'));
    const started = Date.now();
    expect(await h.gateway.pay(input)).toMatchObject({ kind: 'unknown' });
    const waiting = await h.gateway.query(input.partnerTransId);
    expect(waiting.kind).toBe('waiting');
    expect(Date.now() - started).toBeLessThan(CONFIRM_DELAY_MS); // the answer above really was before the confirmation
    await new Promise((r) => setTimeout(r, CONFIRM_DELAY_MS + 100));
    const paid = await h.gateway.query(input.partnerTransId);
    if (paid.kind !== 'paid') throw new Error(`expected paid, got ${JSON.stringify(paid)}`);
    expect(paid.amount).toEqual(input.amount);
    // alipay_pay_time has whole seconds
    expect(paid.paidAt.getTime()).toBeGreaterThanOrEqual(Math.floor((started + CONFIRM_DELAY_MS) / 1000) * 1000);
  });

  it('2xxx: UNKNOW, stays WAIT_BUYER_PAY; cancel closes it; a later pay with that id fails', async () => {
    const input = payInput(paymentCode('2500'));
    expect(await h.gateway.pay(input)).toMatchObject({ kind: 'unknown' });
    await new Promise((r) => setTimeout(r, CONFIRM_DELAY_MS + 100));
    expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'waiting' });
    expect(await h.gateway.cancel(input.partnerTransId)).toEqual({ kind: 'cancelled', action: 'close' });
    expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'closed' });
    expect(await h.gateway.pay(input)).toMatchObject({
      kind: 'failed',
      code: 'BUYER_NOT_PAID',
      walletCode: 'TRADE_HAS_CLOSE',
    });
    expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toMatchObject({
      status: 'TRADE_CLOSED',
      closeAction: 'close',
      reversalType: null,
    });
  });

  it('3xxx: FAIL BUYER_BALANCE_NOT_ENOUGH → INSUFFICIENT_BALANCE', async () => {
    const input = payInput(paymentCode('3001'));
    expect(await h.gateway.pay(input)).toMatchObject({
      kind: 'failed',
      code: 'INSUFFICIENT_BALANCE',
      walletCode: 'BUYER_BALANCE_NOT_ENOUGH',
    });
    expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'closed' });
  });

  it('4xxx: the first answer is UNKNOW but the trade is paid; a repeated pay returns the paid trade', async () => {
    const input = payInput(paymentCode('4321'));
    expect(await h.gateway.pay(input)).toMatchObject({ kind: 'unknown' });
    const paid = await h.gateway.query(input.partnerTransId);
    if (paid.kind !== 'paid') throw new Error(`expected paid, got ${JSON.stringify(paid)}`);
    const again = await h.gateway.pay(input);
    expect(again).toMatchObject({ kind: 'succeeded', walletTransactionId: paid.walletTransactionId });
    expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toMatchObject({ payCalls: 2, status: 'TRADE_SUCCESS' });
  });

  it('5xxx: no answer before the client timeout, yet the trade is paid', async () => {
    const impatient = h.makeGateway({ timeoutMs: 300 });
    const input = payInput(paymentCode('5555'));
    const started = Date.now();
    const result = await impatient.pay(input);
    expect(result).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/timeout/) as unknown });
    expect(Date.now() - started).toBeLessThan(HOLD_MS);
    expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'paid' });
    // Only the first call is held back: a retry of the same request answers at once.
    const retryStarted = Date.now();
    expect(await impatient.pay(input)).toMatchObject({ kind: 'succeeded' });
    expect(Date.now() - retryStarted).toBeLessThan(HOLD_MS);
  });

  it('5xxx: a patient client gets SUCCESS after the hold', async () => {
    const input = payInput(paymentCode('5000'));
    const started = Date.now();
    expect(await h.gateway.pay(input)).toMatchObject({ kind: 'succeeded' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(HOLD_MS - 50);
  });

  it.each([
    ['6000', 'PAYMENT_CODE_EXPIRED', 'EXPIRED_CODE'],
    ['7777', 'PAYMENT_CODE_INVALID', 'SOUNDWAVE_PARSER_FAIL'],
    ['8999', 'RISK_REJECTED', 'FRAUD_REJECT'],
  ])('%s: fails with %s (wallet code %s)', async (last, code, walletCode) => {
    const input = payInput(paymentCode(last));
    expect(await h.gateway.pay(input)).toMatchObject({ kind: 'failed', code, walletCode });
    expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toMatchObject({
      status: 'TRADE_CLOSED',
      failCode: walletCode,
    });
  });

  it('a code outside the 25–30 prefix range is not recognised', async () => {
    expect(await h.gateway.pay(payInput('180000000000000000'))).toMatchObject({
      kind: 'failed',
      code: 'PAYMENT_CODE_INVALID',
    });
  });

  describe('repeated spot.pay with the same partner_trans_id', () => {
    it('same parameters: the existing trade, no second trade', async () => {
      const input = payInput(paymentCode('0100'));
      const first = await h.gateway.pay(input);
      const second = await h.gateway.pay(input);
      if (first.kind !== 'succeeded' || second.kind !== 'succeeded') throw new Error('expected two successes');
      expect(second.walletTransactionId).toBe(first.walletTransactionId);
      expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toMatchObject({ payCalls: 2 });
    });

    it('another amount: CONTEXT_INCONSISTENT', async () => {
      const input = payInput(paymentCode('0101'));
      expect((await h.gateway.pay(input)).kind).toBe('succeeded');
      expect(await h.gateway.pay({ ...input, amount: { value: 99_00, currency: 'CNY' } })).toMatchObject({
        kind: 'failed',
        code: 'DUPLICATE_TRANSACTION_ID',
        walletCode: 'CONTEXT_INCONSISTENT',
      });
      expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toMatchObject({
        amount: { value: 1250, currency: 'CNY' },
        status: 'TRADE_SUCCESS',
      });
    });

    it('another buyer: TRADE_BUYER_NOT_MATCH', async () => {
      const input = payInput(paymentCode('0102'));
      expect((await h.gateway.pay(input)).kind).toBe('succeeded');
      expect(await h.gateway.pay({ ...input, paymentCode: paymentCode('0102') })).toMatchObject({
        kind: 'failed',
        code: 'DUPLICATE_TRANSACTION_ID',
        walletCode: 'TRADE_BUYER_NOT_MATCH',
      });
    });

    it('a failed trade answers the same failure again', async () => {
      const input = payInput(paymentCode('3999'));
      expect(await h.gateway.pay(input)).toMatchObject({ kind: 'failed', walletCode: 'BUYER_BALANCE_NOT_ENOUGH' });
      expect(await h.gateway.pay(input)).toMatchObject({ kind: 'failed', walletCode: 'BUYER_BALANCE_NOT_ENOUGH' });
    });
  });

  describe('query', () => {
    it('an unknown partner_trans_id is not_found', async () => {
      expect(await h.gateway.query(transId('never'))).toEqual({ kind: 'not_found' });
    });
  });

  describe('cancel', () => {
    it('reverses a paid trade on its GMT+8 day (CANCEL after a SUCCESS answer)', async () => {
      const input = payInput(paymentCode('0200'));
      expect((await h.gateway.pay(input)).kind).toBe('succeeded');
      expect(await h.gateway.cancel(input.partnerTransId)).toEqual({ kind: 'cancelled', action: 'refund' });
      expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'closed' });
      expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toMatchObject({
        closeAction: 'refund',
        reversalType: 'CANCEL',
      });
      // Cancelling again is harmless and says the same.
      expect(await h.gateway.cancel(input.partnerTransId)).toEqual({ kind: 'cancelled', action: 'refund' });
    });

    it('reverses a paid trade whose pay answer was UNKNOW (REVERSAL)', async () => {
      const input = payInput(paymentCode('4000'));
      expect((await h.gateway.pay(input)).kind).toBe('unknown');
      expect(await h.gateway.cancel(input.partnerTransId)).toEqual({ kind: 'cancelled', action: 'refund' });
      expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toMatchObject({ reversalType: 'REVERSAL' });
    });

    it('refuses to reverse a paid trade on a later GMT+8 day (retry_flag=N)', async () => {
      const input = payInput(paymentCode('0300'));
      expect((await h.gateway.pay(input)).kind).toBe('succeeded');
      clockOffsetMs = 24 * 3600_000;
      expect(await h.gateway.cancel(input.partnerTransId)).toMatchObject({
        kind: 'failed',
        code: 'CANCEL_WINDOW_EXPIRED',
        walletCode: 'TRADE_CANCEL_TIME_OUT',
      });
      expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'paid' });
    });

    it('closes an id the wallet never saw, so a late pay with it fails', async () => {
      const input = payInput(paymentCode('0400'));
      expect(await h.gateway.cancel(input.partnerTransId)).toEqual({ kind: 'cancelled', action: 'close' });
      expect(await h.gateway.pay(input)).toMatchObject({ kind: 'failed', code: 'BUYER_NOT_PAID' });
      expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'closed' });
    });

    it('closes a 1xxx trade before the buyer confirms, and it never becomes paid', async () => {
      const input = payInput(paymentCode('1999'));
      expect((await h.gateway.pay(input)).kind).toBe('unknown');
      expect(await h.gateway.cancel(input.partnerTransId)).toEqual({ kind: 'cancelled', action: 'close' });
      await new Promise((r) => setTimeout(r, CONFIRM_DELAY_MS + 100));
      expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'closed' });
    });

    it('answers retry_flag=Y when the wallet cannot cancel now, and succeeds on the retry', async () => {
      const input = payInput(paymentCode('2001'));
      expect((await h.gateway.pay(input)).kind).toBe('unknown');
      h.sandbox.faults.arm({
        fault: 'unknown_result',
        service: 'alipay.acquire.cancel',
        partnerTransId: input.partnerTransId,
        count: 1,
        delayMs: 0,
      });
      expect(await h.gateway.cancel(input.partnerTransId)).toMatchObject({ kind: 'retry' });
      expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'waiting' });
      expect(await h.gateway.cancel(input.partnerTransId)).toEqual({ kind: 'cancelled', action: 'close' });
    });
  });
});
