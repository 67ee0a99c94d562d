import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';

/**
 * Ticket codes: `<base64url(payload JSON)>.<base64url(Ed25519 signature)>`. The payload carries
 * everything a gate needs without a database: ticket id, attraction, validity window (epoch
 * seconds), entries, and the key id that signed it (so keys can rotate).
 */
export const ticketClaimsSchema = z.strictObject({
  v: z.literal(1),
  kid: z.string().min(1).max(16),
  tid: z.string().min(1).max(64),
  att: z.string().min(1).max(64),
  nbf: z.number().int(),
  exp: z.number().int(),
  ent: z.number().int().min(1).max(1000),
});
export type TicketClaims = z.infer<typeof ticketClaimsSchema>;

export type CodeCheck = { ok: true; claims: TicketClaims } | { ok: false; reason: 'FORGED' | 'UNKNOWN_CODE' };

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

/** Verification with public keys only (used by the service and by offline gates). */
export function verifyTicketCode(code: string, publicKeys: Map<string, KeyObject>): CodeCheck {
  if (code.length > 1024) return { ok: false, reason: 'UNKNOWN_CODE' };
  const parts = code.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1] || !/^[A-Za-z0-9_-]+$/.test(parts[0] + parts[1])) {
    return { ok: false, reason: 'UNKNOWN_CODE' };
  }
  let claims: TicketClaims;
  try {
    const parsed = ticketClaimsSchema.safeParse(JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')));
    if (!parsed.success) return { ok: false, reason: 'FORGED' };
    claims = parsed.data;
  } catch {
    return { ok: false, reason: 'UNKNOWN_CODE' };
  }
  const key = publicKeys.get(claims.kid);
  if (!key) return { ok: false, reason: 'FORGED' };
  const good = verify(null, Buffer.from(parts[0], 'ascii'), key, Buffer.from(parts[1], 'base64url'));
  return good ? { ok: true, claims } : { ok: false, reason: 'FORGED' };
}
