import { createPrivateKey, createPublicKey } from 'node:crypto';
import {
  buildPreSignString,
  loadMapiKeys,
  md5Sign,
  md5Verify,
  rsa2Sign,
  rsa2Verify,
  signRequestParams,
  verifyWalletSignature,
} from './mapi-signature';

// Vectors computed independently with openssl:
//   printf '%s%s' "$PRE" "$KEY" | openssl md5
//   printf '%s' "$PRE" | openssl dgst -sha256 -sign test-key.pem | base64 -w0
const PRE =
  '_input_charset=UTF-8&alipay_seller_id=2088101122136241&currency=USD&partner=2088101122136241' +
  '&partner_trans_id=T100&service=alipay.acquire.overseas.spot.pay&trans_amount=0.10&trans_name=a@b.com 中文';
const MD5_KEY = 'abcdefghijklmnopqrstuvwxyz012345';
const MD5_SIGN = 'd1f4caa6b0ce169d07ff43b5a01bf3e2';
const RSA2_SIGN =
  'BdFS/hhNLmmJA4gi1UdephaG7UEn+c98979U1r76oELYKxmX3d7YlA3AWmoL7C0ZFE8ZdGBWSxeTc8+QA+it+fc2Y5qJV4e4sFF8MdbWJdP8zxK2RabYcQYkrC546VCSwKNaA1d+TKw4Jfm/N3k6mQJROhBb2ILYez8t6F7L/4k=';
const TEST_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAMlmTO+TvrFhVZRk
ZC7u6LFTWCyZ/lUP1BkdWSUt30wXZ+jSi7lRMNQ+5WERfwI1DK+bHH5p9WGVTxn/
3XgYqrvm/jOi/unJEfU9wuzGyVFO3LBRy/ulgfwHLT8TXlnEoEd4pgT1FLY4+N4m
nXu6l7btSvApWfAauD2X8sQNtkfxAgMBAAECgYB0qOdj10ccZG84F7bYYNc08Dwh
CcqC5zpKme9rU9kGsIAmIt+ApwEL0Kr5wTK6ypPgnI6ywxm6PsylGMrmqBMs4F4k
BST27bIajYOwfaEffOdLRBn5xjBN+dtRwJt7Qe6fdxwYxFY4+gq3GrOjbITYE0Gx
uu5tFDUnqh2gi6ygAQJBAPplBj+JPs7Srv6CaBW8JuE2ZhxDC9011kf0M/4+MlyR
cIoLdDVBqi7V6oqf+rsK6fhO3nH64OKNtFftLPLlxwECQQDN6H4kGo/BhtJ5zFb8
+SuTFa3lmf+uxAUzintBfXWHM13tTGh5RC6a/abfCyAGQFZ8J5XtQ9ee+i98AQpl
1fDxAkEAv0YS6tAdsYJReUwG1KuhC6Mxh19UHcx1fwu19/5tHDdhv6IWSGR760Ev
5Gtm7iDdL/iXhnw98/KJlC0yi+4pAQJAPJtEFahjy9i9NvB4YjmNI9vrtXsgkPZN
eaA3K02cPFFYQjKNRbRV63ThmyERKgXh7uVP8ehYHQkS1PMRdmwEYQJBAL1YXOSW
XgXK1niDLjM7MYaa8GPofiC/J7FWDqW8ikSLhUWr3HxBSIW3wQqIL/5f0g1QYej6
9x4M1xovVbTRzS4=
-----END PRIVATE KEY-----`;
const TEST_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDJZkzvk76xYVWUZGQu7uixU1gs
mf5VD9QZHVklLd9MF2fo0ou5UTDUPuVhEX8CNQyvmxx+afVhlU8Z/914GKq75v4z
ov7pyRH1PcLsxslRTtywUcv7pYH8By0/E15ZxKBHeKYE9RS2OPjeJp17upe27Urw
KVnwGrg9l/LEDbZH8QIDAQAB
-----END PUBLIC KEY-----`;

const PARAMS: Record<string, string | undefined> = {
  service: 'alipay.acquire.overseas.spot.pay',
  partner: '2088101122136241',
  _input_charset: 'UTF-8',
  trans_name: 'a@b.com 中文',
  partner_trans_id: 'T100',
  currency: 'USD',
  trans_amount: '0.10',
  alipay_seller_id: '2088101122136241',
  sign_type: 'MD5',
  sign: 'ignored',
  memo: '',
  notify_url: undefined,
};

describe('pre-sign string', () => {
  it('drops sign, sign_type and empty values, sorts keys by ASCII and keeps raw values', () => {
    expect(buildPreSignString(PARAMS)).toBe(PRE);
  });

  it('sorts by ASCII, so upper case and underscore come before lower case', () => {
    expect(buildPreSignString({ b: '1', a: '2', B: '3', _x: '4', a_b: '5', ab: '6' })).toBe(
      'B=3&_x=4&a=2&a_b=5&ab=6&b=1',
    );
  });

  it('does not URL-encode values', () => {
    expect(buildPreSignString({ email: 'a@b.com', q: 'x=y&z', space: 'a b' })).toBe('email=a@b.com&q=x=y&z&space=a b');
  });
});

describe('MD5 signing', () => {
  it('matches the openssl vector (lowercase hex of MD5(preSign + key))', () => {
    expect(md5Sign(PRE, MD5_KEY)).toBe(MD5_SIGN);
  });

  it('verifies the vector, case-insensitively, and rejects a changed string or key', () => {
    expect(md5Verify(PRE, MD5_KEY, MD5_SIGN)).toBe(true);
    expect(md5Verify(PRE, MD5_KEY, MD5_SIGN.toUpperCase())).toBe(true);
    expect(md5Verify(`${PRE}x`, MD5_KEY, MD5_SIGN)).toBe(false);
    expect(md5Verify(PRE, MD5_KEY.replace('a', 'b'), MD5_SIGN)).toBe(false);
    expect(md5Verify(PRE, MD5_KEY, 'short')).toBe(false);
  });

  it('signRequestParams adds sign and sign_type and drops empty parameters', () => {
    const signed = signRequestParams(PARAMS, loadMapiKeys({ signType: 'MD5', md5Key: MD5_KEY }));
    expect(signed['sign']).toBe(MD5_SIGN);
    expect(signed['sign_type']).toBe('MD5');
    expect('memo' in signed).toBe(false);
    expect('notify_url' in signed).toBe(false);
  });
});

describe('RSA2 (SHA256withRSA) signing', () => {
  const privateKey = createPrivateKey(TEST_PRIVATE_KEY);
  const publicKey = createPublicKey(TEST_PUBLIC_KEY);

  it('matches the openssl vector (PKCS#1 v1.5 is deterministic)', () => {
    expect(rsa2Sign(PRE, privateKey)).toBe(RSA2_SIGN);
  });

  it('verifies the vector and rejects tampering', () => {
    expect(rsa2Verify(PRE, publicKey, RSA2_SIGN)).toBe(true);
    expect(rsa2Verify(PRE.replace('0.10', '0.11'), publicKey, RSA2_SIGN)).toBe(false);
    expect(rsa2Verify(PRE, publicKey, `A${RSA2_SIGN.slice(1)}`)).toBe(false);
    expect(rsa2Verify(PRE, publicKey, 'not base64 !')).toBe(false);
  });

  it('verifyWalletSignature refuses a sign type other than the configured one', () => {
    const keys = loadMapiKeys({
      signType: 'RSA2',
      privateKeyPem: TEST_PRIVATE_KEY,
      walletPublicKeyPem: TEST_PUBLIC_KEY,
    });
    expect(verifyWalletSignature(PRE, keys, 'RSA2', RSA2_SIGN)).toBe(true);
    expect(verifyWalletSignature(PRE, keys, 'MD5', RSA2_SIGN)).toBe(false);
    expect(verifyWalletSignature(PRE, keys, 'RSA2', undefined)).toBe(false);
    expect(verifyWalletSignature(PRE, keys, 'RSA2', '')).toBe(false);
  });
});
