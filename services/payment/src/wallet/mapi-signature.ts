import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { MapiSignType } from './alipay-mapi.config';

/**
 * Request/notification signing of the Alipay mapi protocol (brief §4):
 * 1. take every parameter except `sign` and `sign_type`;
 * 2. drop parameters without a value;
 * 3. sort the keys in ascending ASCII order;
 * 4. join `key=value` pairs with `&`, using the raw (not URL-encoded) values;
 * 5. encode as UTF-8 (the `_input_charset` we always declare).
 */
export function buildPreSignString(params: Readonly<Record<string, string | undefined>>): string {
  return Object.keys(params)
    .filter((key) => key !== 'sign' && key !== 'sign_type')
    .filter((key) => {
      const value = params[key];
      return value !== undefined && value !== '';
    })
    .sort(compareAscii)
    .map((key) => `${key}=${params[key] ?? ''}`)
    .join('&');
}

/** Byte-wise ascending order of the UTF-8 encodings (equals ASCII order for ASCII keys). */
export function compareAscii(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** MD5 signature: lowercase hex of MD5(preSign + key), no separator. */
export function md5Sign(preSign: string, md5Key: string): string {
  return createHash('md5')
    .update(preSign + md5Key, 'utf8')
    .digest('hex');
}

/** RSA2 signature: SHA256withRSA (PKCS#1 v1.5), base64. */
export function rsa2Sign(preSign: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(preSign, 'utf8'), privateKey).toString('base64');
}

export function md5Verify(preSign: string, md5Key: string, signature: string): boolean {
  const expected = Buffer.from(md5Sign(preSign, md5Key), 'utf8');
  const actual = Buffer.from(signature.toLowerCase(), 'utf8');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export function rsa2Verify(preSign: string, publicKey: KeyObject, signature: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  try {
    return verify('sha256', Buffer.from(preSign, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** Keys of one signing party, parsed once. */
export type MapiKeys =
  { signType: 'MD5'; md5Key: string } | { signType: 'RSA2'; privateKey: KeyObject; walletPublicKey: KeyObject };

export function loadMapiKeys(input: {
  signType: MapiSignType;
  md5Key?: string;
  privateKeyPem?: string;
  walletPublicKeyPem?: string;
}): MapiKeys {
  if (input.signType === 'MD5') {
    if (input.md5Key === undefined) throw new Error('md5Key is required for MD5 signing');
    return { signType: 'MD5', md5Key: input.md5Key };
  }
  if (input.privateKeyPem === undefined || input.walletPublicKeyPem === undefined) {
    throw new Error('privateKeyPem and walletPublicKeyPem are required for RSA2 signing');
  }
  return {
    signType: 'RSA2',
    privateKey: createPrivateKey(input.privateKeyPem),
    walletPublicKey: createPublicKey(input.walletPublicKeyPem),
  };
}

/** Signs a pre-sign string with our key. */
export function signPreSign(preSign: string, keys: MapiKeys): string {
  return keys.signType === 'MD5' ? md5Sign(preSign, keys.md5Key) : rsa2Sign(preSign, keys.privateKey);
}

/**
 * Verifies a wallet signature (response or notification). The declared sign type must be the
 * one we are configured for; a wallet answering MD5 to an RSA2 merchant is rejected.
 */
export function verifyWalletSignature(
  preSign: string,
  keys: MapiKeys,
  signType: string | undefined,
  signature: string | undefined,
): boolean {
  if (signature === undefined || signature === '') return false;
  if (signType !== undefined && signType.toUpperCase() !== keys.signType) return false;
  return keys.signType === 'MD5'
    ? md5Verify(preSign, keys.md5Key, signature)
    : rsa2Verify(preSign, keys.walletPublicKey, signature);
}

/** Signs a request: returns the parameters plus `sign` and `sign_type`, with empty values removed. */
export function signRequestParams(
  params: Readonly<Record<string, string | undefined>>,
  keys: MapiKeys,
): Record<string, string> {
  const signed: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (key === 'sign' || key === 'sign_type') continue;
    if (value !== undefined && value !== '') signed[key] = value;
  }
  signed['sign'] = signPreSign(buildPreSignString(signed), keys);
  signed['sign_type'] = keys.signType;
  return signed;
}
