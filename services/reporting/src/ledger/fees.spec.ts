import fc from 'fast-check';
import { mdrFee } from './fees';

describe('mdrFee', () => {
  it('is amount × bps / 10000 rounded half up, in minor units', () => {
    expect(mdrFee(10_000, 60)).toBe(60); // CNY 100.00 at 0.60 % = CNY 0.60
    expect(mdrFee(1_250, 60)).toBe(8); // 7.5 fen → 8
    expect(mdrFee(1_249, 60)).toBe(7); // 7.494 → 7
    expect(mdrFee(83, 60)).toBe(0); // 0.498 → 0
    expect(mdrFee(84, 60)).toBe(1); // 0.504 → 1
    expect(mdrFee(2_500, 2)).toBe(1); // exactly 0.5 → 1 (half up)
    expect(mdrFee(7_500, 2)).toBe(2); // exactly 1.5 → 2
    expect(mdrFee(1_200, 250)).toBe(30); // JPY 1200 at 2.5 % = 30 yen
    expect(mdrFee(0, 60)).toBe(0);
    expect(mdrFee(12_345, 0)).toBe(0);
    expect(mdrFee(12_345, 10_000)).toBe(12_345);
  });

  it('is exact for the largest amounts', () => {
    expect(mdrFee(100_000_000_00, 60)).toBe(60_000_000);
    expect(mdrFee(100_000_000_00, 9_999)).toBe(99_990_000_00);
  });

  it('agrees with rational half-up rounding and never exceeds the amount', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000_000_00 }), fc.integer({ min: 0, max: 10_000 }), (amount, bps) => {
        const fee = mdrFee(amount, bps);
        const exact = BigInt(amount) * BigInt(bps); // fee × 10000 before rounding
        // fee - 0.5 <= exact/10000 < fee + 0.5
        expect(BigInt(fee) * 10_000n - 5_000n <= exact).toBe(true);
        expect(exact < BigInt(fee) * 10_000n + 5_000n).toBe(true);
        expect(fee).toBeLessThanOrEqual(amount);
      }),
    );
  });

  it('rejects bad input', () => {
    expect(() => mdrFee(-1, 60)).toThrow(RangeError);
    expect(() => mdrFee(1.5, 60)).toThrow(RangeError);
    expect(() => mdrFee(100, 10_001)).toThrow(RangeError);
    expect(() => mdrFee(100, 0.5)).toThrow(RangeError);
  });
});
