import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** Type prefixes of Admit's opaque ids (api-v1.md). */
export const ID_PREFIXES = {
  merchant: 'mch',
  apiKey: 'key',
  payment: 'pay',
  refund: 'rfd',
  attraction: 'att',
  product: 'prd',
  slot: 'slt',
  order: 'ord',
  ticket: 'tkt',
  campaign: 'cmp',
  coupon: 'cpn',
  reconciliation: 'rec',
  scan: 'scn',
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A new opaque id: `<prefix>_<9 chars of millisecond time, base36><16 random base36 chars>`.
 * Ids of one kind sort by creation time, which keeps cursor pagination and B-tree inserts cheap.
 */
export function newId(kind: IdKind, now: number = Date.now()): string {
  const time = now.toString(36).padStart(9, '0');
  const bytes = randomBytes(16);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 36];
  return `${ID_PREFIXES[kind]}_${time}${rand}`;
}

const ID_BODY = /^[0-9a-z]{25}$/;

/** Zod schema for an id of one kind; anything else is a validation error (→ 400/404 at the edge). */
export function idSchema(kind: IdKind) {
  const prefix = `${ID_PREFIXES[kind]}_`;
  return z
    .string()
    .max(64)
    .refine((s) => s.startsWith(prefix) && ID_BODY.test(s.slice(prefix.length)), {
      message: `must be a ${kind} id (${prefix}…)`,
    });
}

export function isId(kind: IdKind, value: string): boolean {
  return idSchema(kind).safeParse(value).success;
}
