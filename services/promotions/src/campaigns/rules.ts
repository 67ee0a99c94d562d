import { randomBytes } from 'node:crypto';

/** Crockford base32 without the ambiguous I, L, O, U (and no 0/1 lookalikes problem: 0 and 1 stay, O/I/L never appear). */
export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * An unguessable, human-typable coupon code: 10 symbols of Crockford base32 (50 bits of entropy
 * from the CSPRNG), grouped `XXXXX-XXXXX`. Typing is forgiving: see {@link normalizeCode}.
 */
export function generateCode(prefix = ''): string {
  const bytes = randomBytes(10);
  let out = '';
  for (const b of bytes) out += CODE_ALPHABET[b & 31];
  return `${prefix}${out.slice(0, 5)}-${out.slice(5)}`;
}

/** Case-insensitive; O→0, I/L→1 as Crockford decoding does; spaces dropped. */
export function normalizeCode(code: string): string {
  return code.trim().toUpperCase().replace(/\s+/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
}

export type Discount = { percentOff: number } | { amountOff: { value: number; currency: string } };
export type OrderLine = { productKind: string; quantity: number; unitPrice: { value: number; currency: string } };

/**
 * Percent of an amount in minor units, rounded half-up, computed exactly in integers:
 * the percent is taken in hundredths (basis points), so 12.5 % of 999 = 124.875 → 125.
 */
export function percentOf(amount: number, percentOff: number): number {
  const bp = BigInt(Math.round(percentOff * 100));
  const v = (BigInt(amount) * bp * 2n + 10000n) / 20000n; // floor(x + 0.5) for x >= 0
  return Number(v);
}

export type Applicability =
  | { ok: true; discount: number }
  | { ok: false; reason: 'COUPON_NOT_APPLICABLE' | 'MIN_SPEND_NOT_MET' | 'CURRENCY_MISMATCH' | 'NOT_STACKABLE' };

/**
 * The discount a campaign gives an order, in the order's minor units.
 * - base: the lines of the campaign's product kinds (all lines when none are set), capped at what
 *   is still due (a stackable coupon discounts what earlier discounts left);
 * - minSpend: compared with the order total, same currency;
 * - percent → round half-up; amountOff → capped at the base (never a negative amount due);
 * - stacking: an `exclusive` coupon refuses an order that already carries another discount.
 */
export function discountFor(
  campaign: {
    discount: Discount;
    conditions: { minSpend?: { value: number; currency: string }; productKinds?: string[] };
    stacking: 'exclusive' | 'stackable';
  },
  order: { lines: OrderLine[]; total: { value: number; currency: string }; amountDue: { value: number } },
): Applicability {
  const currency = order.total.currency;
  const { minSpend, productKinds } = campaign.conditions;
  const alreadyDiscounted = order.amountDue.value < order.total.value;
  if (alreadyDiscounted && campaign.stacking === 'exclusive') return { ok: false, reason: 'NOT_STACKABLE' };
  if (minSpend) {
    if (minSpend.currency !== currency) return { ok: false, reason: 'CURRENCY_MISMATCH' };
    if (order.total.value < minSpend.value) return { ok: false, reason: 'MIN_SPEND_NOT_MET' };
  }
  const kinds = productKinds && productKinds.length > 0 ? new Set(productKinds) : null;
  let base = 0;
  for (const l of order.lines) if (!kinds || kinds.has(l.productKind)) base += l.unitPrice.value * l.quantity;
  if (base === 0) return { ok: false, reason: 'COUPON_NOT_APPLICABLE' };
  base = Math.min(base, order.amountDue.value);
  if (base <= 0) return { ok: false, reason: 'COUPON_NOT_APPLICABLE' };
  if ('percentOff' in campaign.discount) return { ok: true, discount: percentOf(base, campaign.discount.percentOff) };
  if (campaign.discount.amountOff.currency !== currency) return { ok: false, reason: 'CURRENCY_MISMATCH' };
  return { ok: true, discount: Math.min(campaign.discount.amountOff.value, base) };
}

export type Limits = { totalRedemptions?: number; budget?: { value: number; currency: string }; perCustomer?: number };

/** Whether one more use (with `cost` minor units of budget) fits; checked under the campaign row lock. */
export function limitCheck(
  limits: Limits,
  used: { redemptions: number; budgetUsed: number; customerUses: number },
  take: { slot: boolean; cost: number },
): null | 'CAMPAIGN_EXHAUSTED' | 'BUDGET_EXHAUSTED' | 'CUSTOMER_LIMIT_REACHED' {
  if (take.slot && limits.totalRedemptions !== undefined && used.redemptions + 1 > limits.totalRedemptions)
    return 'CAMPAIGN_EXHAUSTED';
  if (limits.budget !== undefined) {
    if (used.budgetUsed >= limits.budget.value) return 'BUDGET_EXHAUSTED';
    if (used.budgetUsed + take.cost > limits.budget.value) return 'BUDGET_EXHAUSTED';
  }
  if (take.slot && limits.perCustomer !== undefined && used.customerUses + 1 > limits.perCustomer)
    return 'CUSTOMER_LIMIT_REACHED';
  return null;
}

/** The offset (ms) of `timeZone` from UTC at instant `at`. */
function zoneOffsetMs(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(at));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(at / 1000) * 1000;
}

/**
 * A wall-clock time (`YYYY-MM-DD` or `YYYY-MM-DDTHH:mm[:ss]`, no offset) in `timeZone` → the UTC
 * instant. A date alone means its midnight. ISO times with `Z` or an offset are taken as given.
 */
export function zonedToUtc(text: string, timeZone: string): Date {
  if (/(Z|[+-]\d\d:\d\d)$/.test(text)) return new Date(text);
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) throw new RangeError(`not a local time: ${text}`);
  const wall = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  // Two passes settle the offset across DST transitions.
  let utc = wall - zoneOffsetMs(wall, timeZone);
  utc = wall - zoneOffsetMs(utc, timeZone);
  return new Date(utc);
}

export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
