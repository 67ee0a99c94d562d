import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlipayMapiGateway } from './alipay-mapi.gateway';
import type { PayInput } from './wallet-gateway';

/**
 * Unit tests of the adapter against a scripted HTTP stub (no sandbox, no database). The stub's
 * signatures are computed here with node:crypto directly, not with the adapter's helpers.
 */

const KEY = 'unitmd5key0123456789abcdefABCDEF';
const PARTNER = '2088000000000009';

function md5(text: string): string {
  return createHash('md5')
    .update(text + KEY, 'utf8')
    .digest('hex');
}

function presign(fields: Record<string, string>): string {
  return Object.keys(fields)
    .filter((k) => fields[k] !== '' && k !== 'sign' && k !== 'sign_type')
    .sort()
    .map((k) => `${k}=${fields[k] ?? ''}`)
    .join('&');
}

function signedXml(fields: Record<string, string>, sign = md5(presign(fields))): string {
  const body = Object.entries(fields)
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?><alipay><is_success>T</is_success><request><param name="x">y</param></request>` +
    `<response><alipay>${body}</alipay></response><sign>${sign}</sign><sign_type>MD5</sign_type></alipay>`
  );
}

type Captured = { url: string; contentType: string; form: Record<string, string> };
type Script = (req: Captured) => { status?: number; body: string; delayMs?: number };

describe('AlipayMapiGateway (scripted gateway)', () => {
  let server: http.Server;
  let url: string;
  let script: Script;
  const captured: Captured[] = [];
  const timers: NodeJS.Timeout[] = [];
  let gateway: AlipayMapiGateway;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const form: Record<string, string> = {};
        for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) form[k] = v;
        const request: Captured = { url: req.url ?? '', contentType: req.headers['content-type'] ?? '', form };
        captured.push(request);
        const answer = script(request);
        const reply = (): void => {
          if (res.destroyed) return;
          res.writeHead(answer.status ?? 200, { 'content-type': 'text/xml; charset=UTF-8' });
          res.end(answer.body);
        };
        if (answer.delayMs !== undefined) timers.push(setTimeout(reply, answer.delayMs));
        else reply();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.do`;
    gateway = new AlipayMapiGateway(
      {
        gatewayUrl: url,
        partnerId: PARTNER,
        signType: 'MD5',
        md5Key: KEY,
        timeoutMs: 300,
        notifyUrl: 'https://admit.example/v1/wallets/alipay/notify',
      },
      { now: () => new Date('2026-05-01T01:30:00Z') },
    );
  });

  afterAll(async () => {
    for (const timer of timers) clearTimeout(timer);
    gateway.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    captured.length = 0;
  });

  const input: PayInput = {
    partnerTransId: 'pay_0001',
    amount: { value: 1000, currency: 'JPY' },
    paymentCode: '281234567890120042',
    subject: 'Zoo "day" ticket',
    merchant: { id: 'mch_1', name: 'City Zoo', mcc: '7991', storeId: 'st_1', storeName: 'Gate A' },
  };

  const success = {
    result_code: 'SUCCESS',
    partner_trans_id: 'pay_0001',
    alipay_trans_id: '2026050122001000000000000001',
    alipay_pay_time: '20260501093001',
    currency: 'JPY',
    trans_amount: '1000',
    exchange_rate: '0.048',
    trans_amount_cny: '48.00',
    alipay_buyer_user_id: '2088000000000777',
  };

  it('sends a correctly signed spot.pay: charset in the URL, everything else in the form body', async () => {
    script = () => ({ body: signedXml(success) });
    await gateway.pay(input);
    const req = captured[0];
    if (req === undefined) throw new Error('no request');
    expect(req.url).toBe('/gateway.do?_input_charset=UTF-8');
    expect(req.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(req.form['_input_charset']).toBeUndefined();
    expect(req.form).toMatchObject({
      service: 'alipay.acquire.overseas.spot.pay',
      partner: PARTNER,
      alipay_seller_id: PARTNER,
      partner_trans_id: 'pay_0001',
      currency: 'JPY',
      trans_amount: '1000',
      buyer_identity_code: '281234567890120042',
      identity_code_type: 'barcode',
      biz_product: 'OVERSEAS_MBARCODE_PAY',
      trans_create_time: '20260501093000', // 01:30 UTC = 09:30 GMT+8
      trans_name: "Zoo 'day' ticket",
      notify_url: 'https://admit.example/v1/wallets/alipay/notify',
      sign_type: 'MD5',
    });
    expect(JSON.parse(req.form['extend_info'] ?? '{}')).toEqual({
      secondary_merchant_id: 'mch_1',
      secondary_merchant_name: 'City Zoo',
      secondary_merchant_industry: '7991',
      store_id: 'st_1',
      store_name: 'Gate A',
    });
    const { sign, ...rest } = req.form;
    expect(sign).toBe(md5(presign({ ...rest, _input_charset: 'UTF-8' })));
  });

  it('reads a verified SUCCESS: trade id, GMT+8 pay time, FX rate and CNY amount', async () => {
    script = () => ({ body: signedXml(success) });
    expect(await gateway.pay(input)).toEqual({
      kind: 'succeeded',
      walletTransactionId: '2026050122001000000000000001',
      paidAt: new Date('2026-05-01T01:30:01Z'),
      exchangeRate: '0.048',
      settlementAmount: { value: 4800, currency: 'CNY' },
      buyerUserId: '2088000000000777',
    });
  });

  it.each([
    [
      'a tampered response signature',
      () => ({
        body: signedXml(
          success,
          md5(presign(success)).replace(/^./, (c) => (c === 'a' ? 'b' : 'a')),
        ),
      }),
    ],
    [
      'a response signed over different fields',
      () => ({ body: signedXml(success, md5(presign({ ...success, trans_amount: '1' }))) }),
    ],
    ['a response without signature', () => ({ body: signedXml(success, '') })],
    ['HTTP 502', () => ({ status: 502, body: 'Bad Gateway' })],
    ['HTTP 200 with HTML', () => ({ body: '<html><body>oops</body></html>' })],
    ['truncated XML', () => ({ body: signedXml(success).slice(0, 120) })],
    [
      'is_success=F SYSTEM_ERROR',
      () => ({ body: '<alipay><is_success>F</is_success><error>SYSTEM_ERROR</error></alipay>' }),
    ],
    ['is_success=F without error', () => ({ body: '<alipay><is_success>F</is_success></alipay>' })],
    ['result_code UNKNOW', () => ({ body: signedXml({ result_code: 'UNKNOW', partner_trans_id: 'pay_0001' }) })],
    ['result_code UNKNOWN', () => ({ body: signedXml({ result_code: 'UNKNOWN', partner_trans_id: 'pay_0001' }) })],
    ['result_code FAIL with SYSTEM_ERROR', () => ({ body: signedXml({ result_code: 'FAIL', error: 'SYSTEM_ERROR' }) })],
    ['result_code FAIL without error code', () => ({ body: signedXml({ result_code: 'FAIL' }) })],
    ['an unexpected result_code', () => ({ body: signedXml({ result_code: 'PROCESSING' }) })],
    [
      'SUCCESS without alipay_trans_id',
      () => ({ body: signedXml({ result_code: 'SUCCESS', partner_trans_id: 'pay_0001' }) }),
    ],
    [
      'SUCCESS for another partner_trans_id',
      () => ({ body: signedXml({ ...success, partner_trans_id: 'pay_other' }) }),
    ],
    ['SUCCESS for another amount', () => ({ body: signedXml({ ...success, trans_amount: '999' }) })],
    ['a timeout', () => ({ body: signedXml(success), delayMs: 1_000 })],
  ])('treats %s as unknown, never failed', async (_name, answer) => {
    script = answer;
    const result = await gateway.pay(input);
    expect(result.kind).toBe('unknown');
  });

  it('gives up at the total timeout', async () => {
    script = () => ({ body: signedXml(success), delayMs: 2_000 });
    const started = Date.now();
    const result = await gateway.pay(input);
    expect(result).toEqual({ kind: 'unknown', reason: expect.stringMatching(/timeout/i) as unknown });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('reports a connection refusal as unknown', async () => {
    const closed = new AlipayMapiGateway({
      gatewayUrl: 'http://127.0.0.1:1/gateway.do',
      partnerId: PARTNER,
      signType: 'MD5',
      md5Key: KEY,
      timeoutMs: 500,
    });
    expect((await closed.pay(input)).kind).toBe('unknown');
    closed.close();
  });

  it.each([
    ['FAIL', 'BUYER_BALANCE_NOT_ENOUGH', 'INSUFFICIENT_BALANCE'],
    ['FAILED', 'BUYER_BANKCARD_BALANCE_NOT_ENOUGH', 'INSUFFICIENT_BALANCE'],
    ['FAIL', 'EXPIRED_CODE', 'PAYMENT_CODE_EXPIRED'],
    ['FAIL', 'SOUNDWAVE_PARSER_FAIL', 'PAYMENT_CODE_INVALID'],
    ['FAIL', 'FRAUD_REJECT', 'RISK_REJECTED'],
    ['FAIL', 'TRADE_HAS_CLOSE', 'BUYER_NOT_PAID'],
    ['FAIL', 'CONTEXT_INCONSISTENT', 'DUPLICATE_TRANSACTION_ID'],
  ])('maps a verified %s %s to failed %s', async (resultCode, error, code) => {
    script = () => ({ body: signedXml({ result_code: resultCode, error, partner_trans_id: 'pay_0001' }) });
    expect(await gateway.pay(input)).toMatchObject({ kind: 'failed', code, walletCode: error });
  });

  it('maps a gateway rejection (is_success=F ILLEGAL_SIGN) to failed WALLET_CONFIG_ERROR', async () => {
    script = () => ({ body: '<alipay><is_success>F</is_success><error>ILLEGAL_SIGN</error></alipay>' });
    expect(await gateway.pay(input)).toMatchObject({
      kind: 'failed',
      code: 'WALLET_CONFIG_ERROR',
      walletCode: 'ILLEGAL_SIGN',
    });
  });

  it('refuses bad input locally without calling the wallet', async () => {
    script = () => ({ body: signedXml(success) });
    expect(await gateway.pay({ ...input, paymentCode: '12ab' })).toMatchObject({
      kind: 'failed',
      code: 'WALLET_REQUEST_INVALID',
    });
    expect(await gateway.pay({ ...input, partnerTransId: 'x'.repeat(65) })).toMatchObject({
      kind: 'failed',
      code: 'WALLET_REQUEST_INVALID',
    });
    expect(await gateway.pay({ ...input, amount: { value: 0, currency: 'JPY' } })).toMatchObject({
      kind: 'failed',
      code: 'WALLET_REQUEST_INVALID',
    });
    expect(captured).toHaveLength(0);
  });

  describe('query', () => {
    it.each([
      [
        {
          result_code: 'SUCCESS',
          alipay_trans_status: 'TRADE_SUCCESS',
          partner_trans_id: 'q1',
          alipay_trans_id: 'T1',
          alipay_pay_time: '20260501000000',
          trans_amount: '1000',
          currency: 'JPY',
        },
        'paid',
      ],
      [
        {
          result_code: 'SUCCESS',
          alipay_trans_status: 'WAIT_BUYER_PAY',
          partner_trans_id: 'q1',
          alipay_trans_id: 'T1',
        },
        'waiting',
      ],
      [{ result_code: 'SUCCESS', alipay_trans_status: 'TRADE_CLOSED', partner_trans_id: 'q1' }, 'closed'],
      [{ result_code: 'FAIL', error: 'TRANS_NOT_FOUND' }, 'not_found'],
      [{ result_code: 'FAIL', error: 'SYSTEM_ERROR' }, 'unknown'],
      [{ result_code: 'FAIL', error: 'ILLEGAL_ARGUMENT' }, 'unknown'],
      [{ result_code: 'SUCCESS', alipay_trans_status: 'SOMETHING', partner_trans_id: 'q1' }, 'unknown'],
      [{ result_code: 'SUCCESS', alipay_trans_status: 'TRADE_SUCCESS', partner_trans_id: 'q1' }, 'unknown'],
    ])('%j → %s', async (fields, kind) => {
      script = () => ({ body: signedXml(fields) });
      expect((await gateway.query('q1')).kind).toBe(kind);
      expect(captured[0]?.form).toMatchObject({ service: 'alipay.acquire.overseas.query', partner_trans_id: 'q1' });
    });

    it('reads the paid trade details', async () => {
      script = () => ({
        body: signedXml({ ...success, partner_trans_id: 'q1', alipay_trans_status: 'TRADE_SUCCESS' }),
      });
      expect(await gateway.query('q1')).toMatchObject({
        kind: 'paid',
        walletTransactionId: success.alipay_trans_id,
        amount: { value: 1000, currency: 'JPY' },
        settlementAmount: { value: 4800, currency: 'CNY' },
      });
    });

    it('does not trust a tampered query answer', async () => {
      const fields = { result_code: 'SUCCESS', alipay_trans_status: 'TRADE_CLOSED', partner_trans_id: 'q1' };
      script = () => ({ body: signedXml(fields, md5(presign({ ...fields, alipay_trans_status: 'TRADE_SUCCESS' }))) });
      expect((await gateway.query('q1')).kind).toBe('unknown');
    });
  });

  describe('cancel', () => {
    it('sends out_trade_no and an epoch-ms timestamp', async () => {
      script = () => ({ body: signedXml({ result_code: 'SUCCESS', out_trade_no: 'c1', action: 'close' }) });
      expect(await gateway.cancel('c1')).toEqual({ kind: 'cancelled', action: 'close' });
      expect(captured[0]?.form).toMatchObject({
        service: 'alipay.acquire.cancel',
        out_trade_no: 'c1',
        timestamp: String(Date.parse('2026-05-01T01:30:00Z')),
      });
    });

    it.each([
      [
        { result_code: 'SUCCESS', out_trade_no: 'c1', action: 'refund' },
        { kind: 'cancelled', action: 'refund' },
      ],
      [{ result_code: 'SUCCESS', out_trade_no: 'c1' }, { kind: 'cancelled' }],
      [
        { result_code: 'FAIL', out_trade_no: 'c1', retry_flag: 'Y', detail_error_code: 'SYSTEM_ERROR' },
        { kind: 'retry' },
      ],
      [{ result_code: 'FAIL', out_trade_no: 'c1', detail_error_code: 'SOME_ERROR' }, { kind: 'retry' }],
      [{ result_code: 'UNKNOWN', out_trade_no: 'c1' }, { kind: 'retry' }],
      [
        { result_code: 'FAIL', out_trade_no: 'c1', retry_flag: 'N', detail_error_code: 'TRADE_CANCEL_TIME_OUT' },
        { kind: 'failed', code: 'CANCEL_WINDOW_EXPIRED' },
      ],
    ])('%j → %j', async (fields, expected) => {
      script = () => ({ body: signedXml(fields) });
      expect(await gateway.cancel('c1')).toMatchObject(expected);
    });

    it('retries after a timeout or a bad signature', async () => {
      script = () => ({ body: '', delayMs: 1_000 });
      expect((await gateway.cancel('c1')).kind).toBe('retry');
      script = () => ({ body: signedXml({ result_code: 'SUCCESS', out_trade_no: 'c1' }, 'bad') });
      expect((await gateway.cancel('c1')).kind).toBe('retry');
    });
  });

  describe('refund', () => {
    it('sends a synchronous refund and reads the CNY amount', async () => {
      script = () => ({
        body: signedXml({
          result_code: 'SUCCESS',
          partner_trans_id: 'p1',
          partner_refund_id: 'r1',
          alipay_trans_id: 'T1',
          refund_amount: '300',
          currency: 'JPY',
          exchange_rate: '0.048',
          refund_amount_cny: '14.40',
        }),
      });
      const result = await gateway.refund({
        partnerTransId: 'p1',
        partnerRefundId: 'r1',
        amount: { value: 300, currency: 'JPY' },
        reason: 'visitor "changed" mind',
      });
      expect(result).toEqual({
        kind: 'succeeded',
        amount: { value: 300, currency: 'JPY' },
        walletTransactionId: 'T1',
        exchangeRate: '0.048',
        settlementAmount: { value: 1440, currency: 'CNY' },
      });
      expect(captured[0]?.form).toMatchObject({
        service: 'alipay.acquire.overseas.spot.refund',
        partner_trans_id: 'p1',
        partner_refund_id: 'r1',
        refund_amount: '300',
        currency: 'JPY',
        is_sync: 'Y',
        refund_reason: "visitor 'changed' mind",
      });
    });

    it.each([
      [
        { result_code: 'FAIL', error: 'REFUND_AMOUNT_EXCEED' },
        { kind: 'failed', code: 'REFUND_EXCEEDS_PAYMENT' },
      ],
      [
        { result_code: 'FAIL', error: 'CURRENCY_NOT_MATCH' },
        { kind: 'failed', code: 'CURRENCY_NOT_SUPPORTED' },
      ],
      [{ result_code: 'FAIL', error: 'SYSTEM_ERROR' }, { kind: 'unknown' }],
      [{ result_code: 'UNKNOW' }, { kind: 'unknown' }],
    ])('%j → %j', async (fields, expected) => {
      script = () => ({ body: signedXml(fields) });
      expect(
        await gateway.refund({ partnerTransId: 'p1', partnerRefundId: 'r1', amount: { value: 300, currency: 'JPY' } }),
      ).toMatchObject(expected);
    });

    it('refuses a refund id equal to the payment id without calling the wallet', async () => {
      script = () => ({ body: '' });
      expect(
        await gateway.refund({ partnerTransId: 'p1', partnerRefundId: 'p1', amount: { value: 1, currency: 'JPY' } }),
      ).toMatchObject({ kind: 'failed', code: 'WALLET_REQUEST_INVALID' });
      expect(captured).toHaveLength(0);
    });
  });

  describe('registerMerchant', () => {
    it('sends the secmerchant fields with a GMT+8 timestamp', async () => {
      script = () => ({ body: signedXml({ result_code: 'SUCCESS' }) });
      const result = await gateway.registerMerchant({
        id: 'mch_1',
        name: 'City Zoo',
        mcc: '7991',
        storeId: 'st_1',
        storeName: 'Gate A',
        country: 'JP',
      });
      expect(result).toEqual({ kind: 'registered' });
      expect(captured[0]?.form).toMatchObject({
        service: 'alipay.overseas.secmerchant.offline.maintain',
        timestamp: '2026-05-01 09:30:00',
        secondary_merchant_id: 'mch_1',
        secondary_merchant_name: 'City Zoo',
        store_id: 'st_1',
        store_name: 'Gate A',
        store_industry: '7991',
        store_country: 'JP',
      });
    });
  });

  describe('verifyNotification', () => {
    const fields = {
      notify_id: 'n1',
      notify_type: 'trade_status_sync',
      notify_time: '2026-05-01 09:30:05',
      notify_action_type: 'payByAccountAction',
      partner: PARTNER,
      out_trade_no: 'pay_0001',
      trade_no: 'T1',
      trade_status: 'TRADE_SUCCESS',
      currency: 'JPY',
      trans_amount: '1000',
      gmt_payment: '2026-05-01 09:30:01',
      trans_amount_cny: '48.00',
      exchange_rate: '0.048',
    };
    const form = { ...fields, sign: md5(presign(fields)), sign_type: 'MD5' };

    it('accepts a correctly signed notification and parses it', () => {
      const result = gateway.verifyNotification(form);
      if (result.kind !== 'verified') throw new Error(JSON.stringify(result));
      expect(result.notification).toMatchObject({
        notifyId: 'n1',
        partnerTransId: 'pay_0001',
        walletTransactionId: 'T1',
        tradeStatus: 'TRADE_SUCCESS',
        amount: { value: 1000, currency: 'JPY' },
        paidAt: new Date('2026-05-01T01:30:01Z'),
        notifyTime: new Date('2026-05-01T01:30:05Z'),
        settlementAmount: { value: 4800, currency: 'CNY' },
        action: 'payByAccountAction',
      });
    });

    it.each([
      ['a changed field', { ...form, trans_amount: '1' }, 'bad_signature'],
      ['an added field', { ...form, extra: 'x' }, 'bad_signature'],
      ['a changed signature', { ...form, sign: md5('x') }, 'bad_signature'],
      ['no signature', { ...fields, sign_type: 'MD5' }, 'missing_signature'],
      ['another sign type', { ...form, sign_type: 'RSA2' }, 'unsupported_sign_type'],
    ])('rejects %s', (_name, tampered, reason) => {
      expect(gateway.verifyNotification(tampered)).toMatchObject({ kind: 'rejected', reason });
    });

    it('rejects a signed notification for another partner, or without ids', () => {
      const other = { ...fields, partner: '2088999999999999' };
      expect(gateway.verifyNotification({ ...other, sign: md5(presign(other)), sign_type: 'MD5' })).toMatchObject({
        kind: 'rejected',
        reason: 'partner_mismatch',
      });
      const { notify_id: _ignored, ...noId } = fields;
      expect(gateway.verifyNotification({ ...noId, sign: md5(presign(noId)), sign_type: 'MD5' })).toMatchObject({
        kind: 'rejected',
        reason: 'malformed',
      });
    });
  });

  it('refuses an invalid configuration at construction', () => {
    expect(
      () => new AlipayMapiGateway({ gatewayUrl: url, partnerId: '123', signType: 'MD5', md5Key: KEY, timeoutMs: 100 }),
    ).toThrow(/partnerId/);
    expect(
      () => new AlipayMapiGateway({ gatewayUrl: url, partnerId: PARTNER, signType: 'MD5', timeoutMs: 100 }),
    ).toThrow(/md5Key/);
    expect(
      () => new AlipayMapiGateway({ gatewayUrl: url, partnerId: PARTNER, signType: 'RSA2', timeoutMs: 100 }),
    ).toThrow(/privateKeyPem/);
  });
});
