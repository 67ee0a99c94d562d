import { CURRENCY_EXPONENTS } from '@admit/contracts';

function exponent(currency: string): number {
  return (CURRENCY_EXPONENTS as Record<string, number>)[currency] ?? 2;
}

/**
 * `value` minor units of `from` converted at the wallet's decimal `rate` (from → to) into minor
 * units of `to`, rounded half up, exact (BigInt, no floats). JPY 300 at 0.048 → CNY 14.40 = 1440.
 */
export function convertMinor(value: number, from: string, to: string, rate: string): number {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(rate.trim());
  if (!m) throw new RangeError(`not a decimal rate: ${rate}`);
  const frac = m[2] ?? '';
  const rateNum = BigInt(`${m[1]}${frac}`);
  const shift = exponent(to) - exponent(from) - frac.length;
  let num = BigInt(value) * rateNum;
  let den = 1n;
  if (shift >= 0) num *= 10n ** BigInt(shift);
  else den = 10n ** BigInt(-shift);
  return Number((num * 2n + den) / (2n * den));
}
