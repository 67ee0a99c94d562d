import { convertMinor } from './settlement';

describe('convertMinor', () => {
  it('converts at the wallet rate, half up, across exponents', () => {
    expect(convertMinor(1200, 'JPY', 'CNY', '0.048')).toBe(5760);
    expect(convertMinor(300, 'JPY', 'CNY', '0.048')).toBe(1440);
    expect(convertMinor(1, 'JPY', 'CNY', '0.045')).toBe(5); // 4.5 fen → 5
    expect(convertMinor(1250, 'USD', 'CNY', '7.1')).toBe(8875);
    expect(convertMinor(1250, 'CNY', 'CNY', '1')).toBe(1250);
  });
  it('rejects a rate that is not a decimal', () => {
    expect(() => convertMinor(1, 'JPY', 'CNY', '1e3')).toThrow(RangeError);
  });
});
