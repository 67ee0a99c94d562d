import { z } from 'zod';

/**
 * Minor-unit exponents of the currencies Admit accepts (ISO 4217). The wallet's list of
 * settlement currencies plus MOP/TWD. Amounts are always integers in the minor unit.
 */
export const CURRENCY_EXPONENTS = {
  AED: 2,
  AUD: 2,
  CAD: 2,
  CHF: 2,
  CNY: 2,
  CZK: 2,
  DKK: 2,
  EUR: 2,
  GBP: 2,
  HKD: 2,
  IDR: 2,
  ILS: 2,
  JPY: 0,
  KRW: 0,
  LKR: 2,
  MOP: 2,
  MUR: 2,
  MYR: 2,
  NOK: 2,
  NZD: 2,
  PHP: 2,
  RUB: 2,
  SEK: 2,
  SGD: 2,
  THB: 2,
  TWD: 2,
  USD: 2,
  ZAR: 2,
} as const satisfies Record<string, number>;

export type Currency = keyof typeof CURRENCY_EXPONENTS;
export const CURRENCIES = Object.keys(CURRENCY_EXPONENTS) as [Currency, ...Currency[]];
export const currencySchema = z.enum(CURRENCIES);

/** Largest amount Admit handles in one money value (fits the wallet's Number(11,2) and JS safe ints). */
export const MAX_MINOR_VALUE = 100_000_000_00;

/** A monetary amount: integer minor units plus ISO-4217 currency. CNY 12.50 = { value: 1250, currency: 'CNY' }. */
export const moneySchema = z.strictObject({
  value: z.number().int().min(0).max(MAX_MINOR_VALUE),
  currency: currencySchema,
});
export type Money = z.infer<typeof moneySchema>;

/** A strictly positive money value (payments, prices). */
export const positiveMoneySchema = moneySchema.refine((m) => m.value > 0, {
  message: 'must be greater than zero',
  path: ['value'],
});

export function currencyExponent(currency: Currency): number {
  return CURRENCY_EXPONENTS[currency];
}

/** Formats minor units as the decimal string wallets expect: 1250 CNY → "12.50", 1200 JPY → "1200". */
export function formatMajor(money: Money): string {
  const exp = currencyExponent(money.currency);
  if (!Number.isSafeInteger(money.value)) throw new RangeError('money value must be a safe integer');
  if (exp === 0) return String(money.value);
  const sign = money.value < 0 ? '-' : '';
  const abs = Math.abs(money.value)
    .toString()
    .padStart(exp + 1, '0');
  return `${sign}${abs.slice(0, -exp)}.${abs.slice(-exp)}`;
}

/**
 * Parses a decimal string in major units ("12.50") into minor units, exactly (no floats).
 * Throws on more fraction digits than the currency allows.
 */
export function parseMajor(text: string, currency: Currency): Money {
  const exp = currencyExponent(currency);
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new RangeError(`not a decimal amount: ${text}`);
  const [, sign, int, frac = ''] = m;
  const trimmed = frac.replace(/0+$/, '');
  if (trimmed.length > exp) throw new RangeError(`${currency} allows ${exp} decimals: ${text}`);
  const value = Number(`${int}${frac.padEnd(exp, '0').slice(0, exp)}`) * (sign === '-' ? -1 : 1);
  if (!Number.isSafeInteger(value)) throw new RangeError(`amount too large: ${text}`);
  return { value, currency };
}

export function addMoney(a: Money, b: Money): Money {
  if (a.currency !== b.currency) throw new RangeError(`currency mismatch ${a.currency} vs ${b.currency}`);
  return { value: a.value + b.value, currency: a.currency };
}
