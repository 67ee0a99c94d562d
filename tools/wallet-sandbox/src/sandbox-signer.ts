import crypto from 'node:crypto';

/**
 * The wallet side of mapi signing (brief §4). Written independently of the payment service's
 * adapter on purpose: a protocol mistake on one side shows up as a signature failure.
 */

export type SandboxSignType = 'MD5' | 'RSA2';

export type SandboxKeys = {
  signType: SandboxSignType;
  md5Key: string;
  /** Wallet private key: signs responses and notifications (RSA2). */
  walletPrivateKey?: crypto.KeyObject;
  /** Merchant public key: verifies requests (RSA2). */
  merchantPublicKey?: crypto.KeyObject;
};

/** `k=v&k=v` over the non-empty parameters except sign/sign_type, keys in ascending ASCII order. */
export function preSignString(params: Readonly<Record<string, string>>): string {
  const pairs: Array<[string, string]> = [];
  for (const key of Object.keys(params)) {
    if (key === 'sign' || key === 'sign_type') continue;
    const value = params[key];
    if (value === undefined || value.length === 0) continue;
    pairs.push([key, value]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.map(([k, v]) => k + '=' + v).join('&');
}

export function walletSign(content: string, keys: SandboxKeys): string {
  if (keys.signType === 'MD5') {
    return crypto
      .createHash('md5')
      .update(Buffer.from(content + keys.md5Key, 'utf8'))
      .digest('hex');
  }
  if (keys.walletPrivateKey === undefined) throw new Error('RSA2 needs the wallet private key');
  const signer = crypto.createSign('RSA-SHA256');
  signer.update(Buffer.from(content, 'utf8'));
  return signer.sign(keys.walletPrivateKey, 'base64');
}

/** Checks a merchant's request signature with the declared sign type. */
export function merchantSignatureValid(
  content: string,
  signType: SandboxSignType,
  signature: string,
  keys: SandboxKeys,
): boolean {
  if (signType === 'MD5') {
    const expected = crypto
      .createHash('md5')
      .update(Buffer.from(content + keys.md5Key, 'utf8'))
      .digest('hex');
    const a = Buffer.from(expected);
    const b = Buffer.from(signature.toLowerCase());
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }
  if (keys.merchantPublicKey === undefined) return false;
  const verifier = crypto.createVerify('RSA-SHA256');
  verifier.update(Buffer.from(content, 'utf8'));
  try {
    return verifier.verify(keys.merchantPublicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
