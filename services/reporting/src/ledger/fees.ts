/** Basis points are hundredths of a percent: 60 bps = 0.60 %. 10 000 bps = 100 %. */
export const MAX_BPS = 10_000;

/**
 * The merchant discount (MDR) fee of one payment in minor units: amount × bps / 10 000, rounded
 * half up (CNY 0.83 at 60 bps = 0.498 fen → 0 fen; CNY 1.25 at 60 bps = 0.75 fen → 1 fen). Exact
 * integer arithmetic, no floats.
 */
export function mdrFee(amountMinor: number, bps: number): number {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0)
    throw new RangeError(`amount must be a non-negative integer: ${amountMinor}`);
  if (!Number.isInteger(bps) || bps < 0 || bps > MAX_BPS)
    throw new RangeError(`bps must be an integer in 0..${MAX_BPS}: ${bps}`);
  return Number((BigInt(amountMinor) * BigInt(bps) + 5_000n) / 10_000n);
}
