import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { verifyTicketCode, type CodeCheck, type TicketClaims } from '@admit/contracts';

export { ticketClaimsSchema, verifyTicketCode, type CodeCheck, type TicketClaims } from '@admit/contracts';

export class TicketSigner {
  private readonly privateKey: KeyObject;
  readonly publicKeys: Map<string, KeyObject>;

  constructor(
    privateKeyDerBase64: string,
    readonly keyId: string,
    /** Retired keys that still verify codes issued before a rotation. */
    retiredPublicKeys: Record<string, string> = {},
  ) {
    this.privateKey = createPrivateKey({
      key: Buffer.from(privateKeyDerBase64, 'base64'),
      format: 'der',
      type: 'pkcs8',
    });
    if (this.privateKey.asymmetricKeyType !== 'ed25519') throw new Error('TICKET_SIGNING_KEY must be an Ed25519 key');
    this.publicKeys = new Map([[keyId, createPublicKey(this.privateKey)]]);
    for (const [kid, der] of Object.entries(retiredPublicKeys)) {
      this.publicKeys.set(kid, createPublicKey({ key: Buffer.from(der, 'base64'), format: 'der', type: 'spki' }));
    }
  }

  issue(claims: Omit<TicketClaims, 'v' | 'kid'>): string {
    const body = Buffer.from(JSON.stringify({ v: 1, kid: this.keyId, ...claims }), 'utf8').toString('base64url');
    const sig = sign(null, Buffer.from(body, 'ascii'), this.privateKey).toString('base64url');
    return `${body}.${sig}`;
  }

  check(code: string): CodeCheck {
    return verifyTicketCode(code, this.publicKeys);
  }

  /** Public keys as base64 SPKI DER, for the offline kit. */
  exportPublicKeys(): { kid: string; alg: 'Ed25519'; spki: string }[] {
    return [...this.publicKeys.entries()].map(([kid, key]) => ({
      kid,
      alg: 'Ed25519',
      spki: key.export({ format: 'der', type: 'spki' }).toString('base64'),
    }));
  }
}
