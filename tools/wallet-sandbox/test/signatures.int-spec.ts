import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  paymentCode,
  payInput,
  postRaw,
  sandboxTrade,
  startHarness,
  TEST_MD5_KEY,
  transId,
  type Harness,
} from './sandbox-harness';

function md5Sign(params: Record<string, string>, key = TEST_MD5_KEY): string {
  const pre = Object.keys(params)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k] ?? ''}`)
    .join('&');
  return crypto
    .createHash('md5')
    .update(pre + key, 'utf8')
    .digest('hex');
}

function errorOf(xml: string): string | undefined {
  return /<is_success>F<\/is_success><error>([A-Z_]+)<\/error>/.exec(xml)?.[1];
}

describe('signatures and gateway checks (MD5)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  function queryParams(extra: Record<string, string> = {}): Record<string, string> {
    const params: Record<string, string> = {
      service: 'alipay.acquire.overseas.query',
      partner: h.partnerId,
      _input_charset: 'UTF-8',
      partner_trans_id: transId('q'),
      ...extra,
    };
    return { ...params, sign: md5Sign(params), sign_type: 'MD5' };
  }

  function payParams(id: string, code: string): Record<string, string> {
    const params: Record<string, string> = {
      service: 'alipay.acquire.overseas.spot.pay',
      partner: h.partnerId,
      _input_charset: 'UTF-8',
      alipay_seller_id: h.partnerId,
      trans_name: 'Ticket',
      partner_trans_id: id,
      currency: 'CNY',
      trans_amount: '1.00',
      buyer_identity_code: code,
      biz_product: 'OVERSEAS_MBARCODE_PAY',
    };
    return { ...params, sign: md5Sign(params), sign_type: 'MD5' };
  }

  it('accepts a request signed independently of the adapter (signed string includes _input_charset)', async () => {
    const { status, text } = await postRaw(h.sandbox, queryParams());
    expect(status).toBe(200);
    expect(text).toContain('<is_success>T</is_success>');
    expect(text).toContain('<error>TRANS_NOT_FOUND</error>');
    // the answer is signed over the sorted business fields
    const business = /<response><alipay>(.*)<\/alipay><\/response>/.exec(text)?.[1] ?? '';
    const fields: Record<string, string> = {};
    for (const m of business.matchAll(/<([a-z_]+)>([^<]*)<\/\1>/g)) fields[m[1] ?? ''] = m[2] ?? '';
    expect(/<sign>([0-9a-f]{32})<\/sign>/.exec(text)?.[1]).toBe(md5Sign(fields));
  });

  it('also accepts the parameters as a GET query', async () => {
    const res = await fetch(`${h.sandbox.gatewayUrl}?${new URLSearchParams(queryParams()).toString()}`);
    expect(await res.text()).toContain('<error>TRANS_NOT_FOUND</error>');
  });

  it('rejects a request whose parameter was changed after signing (ILLEGAL_SIGN) and records nothing', async () => {
    const id = transId('tampered');
    const params = payParams(id, paymentCode('0001'));
    const { text } = await postRaw(h.sandbox, { ...params, trans_amount: '0.01' });
    expect(errorOf(text)).toBe('ILLEGAL_SIGN');
    expect(text).not.toContain('<sign>');
    expect(await sandboxTrade(h.sandbox, id)).toBeUndefined();
  });

  it.each([
    [
      'no sign and no sign_type',
      (p: Record<string, string>) => {
        const { sign: _s, sign_type: _t, ...rest } = p;
        return rest;
      },
      'ILLEGAL_SIGN_TYPE',
    ],
    [
      'a missing sign only',
      (p: Record<string, string>) => {
        const { sign: _s, ...rest } = p;
        return { ...rest, sign_type: 'MD5' };
      },
      'ILLEGAL_SIGN',
    ],
    [
      'a signature with another key',
      (p: Record<string, string>) => ({ ...p, sign: md5Sign(p, 'x'.repeat(32)) }),
      'ILLEGAL_SIGN',
    ],
    ['an added parameter', (p: Record<string, string>) => ({ ...p, memo: 'hi' }), 'ILLEGAL_SIGN'],
    ['another sign type', (p: Record<string, string>) => ({ ...p, sign_type: 'RSA2' }), 'ILLEGAL_SIGN_TYPE'],
    ['another partner', (p: Record<string, string>) => ({ ...p, partner: '2088111111111111' }), 'ILLEGAL_PARTNER'],
  ])('rejects %s', async (_name, change, error) => {
    const { text } = await postRaw(h.sandbox, change(queryParams()));
    expect(errorOf(text)).toBe(error);
  });

  it('rejects an unknown service (ILLEGAL_SERVICE)', async () => {
    const { text } = await postRaw(h.sandbox, queryParams({ service: 'alipay.acquire.precreate' }));
    expect(errorOf(text)).toBe('ILLEGAL_SERVICE');
  });

  it('rejects a request without _input_charset=UTF-8 (ILLEGAL_CHARSET)', async () => {
    const params = queryParams();
    const { _input_charset: _c, ...rest } = params;
    const { text } = await postRaw(h.sandbox, rest, false);
    expect(errorOf(text)).toBe('ILLEGAL_CHARSET');
  });

  it('rejects missing required or undefined parameters (ILLEGAL_ARGUMENT)', async () => {
    const base: Record<string, string> = {
      service: 'alipay.acquire.overseas.query',
      partner: h.partnerId,
      _input_charset: 'UTF-8',
    };
    expect(errorOf((await postRaw(h.sandbox, { ...base, sign: md5Sign(base), sign_type: 'MD5' })).text)).toBe(
      'ILLEGAL_ARGUMENT',
    );
    const extra = { ...base, partner_trans_id: 'x', color: 'blue' };
    expect(errorOf((await postRaw(h.sandbox, { ...extra, sign: md5Sign(extra), sign_type: 'MD5' })).text)).toBe(
      'ILLEGAL_ARGUMENT',
    );
    const badAmount = payParams(transId(), paymentCode('0001'));
    const { sign: _s, sign_type: _t, ...unsigned } = badAmount;
    const jpy = { ...unsigned, currency: 'JPY', trans_amount: '100.5' };
    expect(errorOf((await postRaw(h.sandbox, { ...jpy, sign: md5Sign(jpy), sign_type: 'MD5' })).text)).toBe(
      'ILLEGAL_ARGUMENT',
    );
  });

  it('an adapter with the wrong key gets failed WALLET_CONFIG_ERROR (ILLEGAL_SIGN), and nothing is charged', async () => {
    const wrong = h.makeGateway({ md5Key: 'wrongkey0123456789abcdefABCDEF12' });
    const input = payInput(paymentCode('0002'));
    expect(await wrong.pay(input)).toMatchObject({
      kind: 'failed',
      code: 'WALLET_CONFIG_ERROR',
      walletCode: 'ILLEGAL_SIGN',
    });
    expect(await sandboxTrade(h.sandbox, input.partnerTransId)).toBeUndefined();
  });

  it('the adapter treats an answer with a corrupted signature as unknown, though the trade was paid', async () => {
    const input = payInput(paymentCode('0003'));
    h.sandbox.faults.arm({ fault: 'bad_response_sign', partnerTransId: input.partnerTransId, count: 1, delayMs: 0 });
    const result = await h.gateway.pay(input);
    expect(result).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(/signature/) as unknown });
    expect(await h.gateway.query(input.partnerTransId)).toMatchObject({ kind: 'paid' });
  });

  it.each(['http_500', 'garbage', 'system_error'] as const)('the adapter treats %s as unknown', async (fault) => {
    const input = payInput(paymentCode('0004'));
    h.sandbox.faults.arm({ fault, partnerTransId: input.partnerTransId, count: 1, delayMs: 0 });
    expect(await h.gateway.pay(input)).toMatchObject({ kind: 'unknown' });
    expect(await h.gateway.query(input.partnerTransId)).toEqual({ kind: 'not_found' });
  });

  it('faults can be armed over HTTP too', async () => {
    const input = payInput(paymentCode('0005'));
    const res = await fetch(`${h.sandbox.url}/control/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        fault: 'http_500',
        service: 'alipay.acquire.overseas.spot.pay',
        partnerTransId: input.partnerTransId,
      }),
    });
    expect(res.status).toBe(201);
    expect((await h.gateway.pay(input)).kind).toBe('unknown');
    expect((await h.gateway.pay(input)).kind).toBe('succeeded');
  });
});

describe('signatures (RSA2, generated dev keys)', () => {
  let h: Harness;
  let keyDir: string;
  beforeAll(async () => {
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wallet-sandbox-keys-'));
    h = await startHarness({ signType: 'RSA2', keyDir }, { signType: 'RSA2' });
  });
  afterAll(async () => {
    await h.close();
    fs.rmSync(keyDir, { recursive: true, force: true });
  });

  function rsaGateway(privateKeyFile: string, walletPublicKeyFile: string): ReturnType<Harness['makeGateway']> {
    return h.makeGateway({
      signType: 'RSA2',
      privateKeyPem: fs.readFileSync(path.join(keyDir, privateKeyFile), 'utf8'),
      walletPublicKeyPem: fs.readFileSync(path.join(keyDir, walletPublicKeyFile), 'utf8'),
    });
  }

  it('generated the four dev key files', () => {
    expect(h.sandbox.devKeys?.merchantPrivateKeyPath).toBe(path.join(keyDir, 'merchant-private.pem'));
    for (const f of ['wallet-private.pem', 'wallet-public.pem', 'merchant-private.pem', 'merchant-public.pem']) {
      expect(fs.readFileSync(path.join(keyDir, f), 'utf8')).toMatch(/^-----BEGIN (PRIVATE|PUBLIC) KEY-----/);
    }
  });

  it('pays end to end with SHA256withRSA both ways', async () => {
    const gateway = rsaGateway('merchant-private.pem', 'wallet-public.pem');
    const input = payInput(paymentCode('0010'));
    expect(await gateway.pay(input)).toMatchObject({ kind: 'succeeded' });
    expect(await gateway.query(input.partnerTransId)).toMatchObject({ kind: 'paid' });
  });

  it('rejects a request signed with the wrong private key (ILLEGAL_SIGN)', async () => {
    const gateway = rsaGateway('wallet-private.pem', 'wallet-public.pem');
    expect(await gateway.pay(payInput(paymentCode('0011')))).toMatchObject({
      kind: 'failed',
      walletCode: 'ILLEGAL_SIGN',
    });
  });

  it('an adapter verifying with the wrong wallet key treats answers as unknown', async () => {
    const gateway = rsaGateway('merchant-private.pem', 'merchant-public.pem');
    const input = payInput(paymentCode('0012'));
    expect(await gateway.pay(input)).toMatchObject({ kind: 'unknown' });
  });

  it('rejects an MD5-signed request to an RSA2 partner (ILLEGAL_SIGN_TYPE)', async () => {
    const md5 = h.makeGateway({ signType: 'MD5', md5Key: TEST_MD5_KEY });
    expect(await md5.pay(payInput(paymentCode('0013')))).toMatchObject({
      kind: 'failed',
      walletCode: 'ILLEGAL_SIGN_TYPE',
    });
  });
});
