import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';

/**
 * Ticket codes: `<base64url(payload JSON)>.<base64url(Ed25519 signature over the first part)>`.
 * The payload carries everything a gate needs without a database: ticket id, attraction, validity
 * window (epoch seconds), entries, and the key id that signed it (so keys can rotate).
 *
 * The verifier is pure (node:crypto + zod): the ticketing service and the offline-gate tool
 * both use this very function, so they cannot disagree.
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

/** The offline kit a gate downloads (`GET /v1/gates/offline-kit`). */
export const offlineKitSchema = z.object({
  version: z.literal(1),
  attractionId: z.string(),
  gateKeyId: z.string(),
  issuedAt: z.iso.datetime(),
  validUntil: z.iso.datetime(),
  publicKeys: z.array(z.object({ kid: z.string(), alg: z.literal('Ed25519'), spki: z.string() })).min(1),
  /** Ticket ids voided (refunded) at issue time: never admit them. */
  revokedTicketIds: z.array(z.string()),
});
export type OfflineKit = z.infer<typeof offlineKitSchema>;

export type OfflineVerdict =
  | { result: 'admitted'; claims: TicketClaims }
  | {
      result: 'rejected';
      reason: 'KIT_EXPIRED' | 'FORGED' | 'UNKNOWN_CODE' | 'WRONG_ATTRACTION' | 'VOID' | 'NOT_YET_VALID' | 'EXPIRED';
      claims?: TicketClaims;
    };

/**
 * An offline gate's decision using only the kit: signature, attraction, revocation and validity
 * window. Single use across gates cannot be known offline; the gate counts its own admissions and
 * the server reports double use as a conflict when the scans are uploaded (`POST /v1/scans/batch`).
 */
export function verifyOffline(code: string, kit: OfflineKit, now: Date = new Date()): OfflineVerdict {
  if (now.getTime() >= Date.parse(kit.validUntil)) return { result: 'rejected', reason: 'KIT_EXPIRED' };
  const keys = new Map(
    kit.publicKeys.map((k) => [
      k.kid,
      createPublicKey({ key: Buffer.from(k.spki, 'base64'), format: 'der', type: 'spki' }),
    ]),
  );
  const check = verifyTicketCode(code, keys);
  if (!check.ok) return { result: 'rejected', reason: check.reason };
  const claims = check.claims;
  if (claims.att !== kit.attractionId) return { result: 'rejected', reason: 'WRONG_ATTRACTION', claims };
  if (kit.revokedTicketIds.includes(claims.tid)) return { result: 'rejected', reason: 'VOID', claims };
  const t = Math.floor(now.getTime() / 1000);
  if (t < claims.nbf) return { result: 'rejected', reason: 'NOT_YET_VALID', claims };
  if (t >= claims.exp) return { result: 'rejected', reason: 'EXPIRED', claims };
  return { result: 'admitted', claims };
}
