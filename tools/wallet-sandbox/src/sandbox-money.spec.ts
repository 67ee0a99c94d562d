import { feeMinor, formatWalletAmount, parseWalletAmount, toCnyMinor } from './sandbox-money';

describe('wallet amounts', () => {
  it.each([
    ['12.50', 'CNY', 1250],
    ['12.5', 'USD', 1250],
    ['12', 'EUR', 1200],
    ['0.01', 'CNY', 1],
    ['100000000.00', 'CNY', 10_000_000_000],
    ['1200', 'JPY', 1200],
    ['1', 'KRW', 1],
  ])('parses %s %s as %i minor units', (text, currency, minor) => {
    expect(parseWalletAmount(text, currency)).toBe(minor);
  });

  it.each([
    ['100.999', 'USD'],
    ['1200.5', 'JPY'],
    ['1200.00', 'JPY'],
    ['0', 'CNY'],
    ['0.00', 'CNY'],
    ['-1', 'CNY'],
    ['1,000.00', 'CNY'],
    ['100000000.01', 'CNY'],
    ['1e3', 'CNY'],
    ['', 'CNY'],
    [' 1', 'CNY'],
  ])('rejects %s %s', (text, currency) => {
    expect(parseWalletAmount(text, currency)).toBeUndefined();
  });

  it('formats minor units', () => {
    expect(formatWalletAmount(1250, 'CNY')).toBe('12.50');
    expect(formatWalletAmount(5, 'USD')).toBe('0.05');
    expect(formatWalletAmount(1200, 'JPY')).toBe('1200');
    expect(formatWalletAmount(0, 'CNY')).toBe('0.00');
  });

  it('converts to CNY fen with half-up rounding and exact decimals', () => {
    expect(toCnyMinor(1234, 'USD', '7.1')).toBe(8761); // 87.614
    expect(toCnyMinor(1235, 'USD', '7.1')).toBe(8769); // 87.685 → 87.69 (half up, no float error)
    expect(toCnyMinor(1000, 'JPY', '0.048')).toBe(4800);
    expect(toCnyMinor(333, 'JPY', '0.048')).toBe(1598); // 15.984
    expect(toCnyMinor(1, 'KRW', '0.0052')).toBe(1); // 0.0052 CNY → 0.01 (half up of 0.52 fen)
    expect(toCnyMinor(999, 'CNY', '1')).toBe(999);
  });

  it('computes the fee half up to the minor unit', () => {
    expect(feeMinor(1250, '0.006')).toBe(8); // 7.5 → 8
    expect(feeMinor(1249, '0.006')).toBe(7); // 7.494
    expect(feeMinor(1000, '0.006')).toBe(6);
    expect(feeMinor(83, '0.006')).toBe(0); // 0.498
    expect(feeMinor(84, '0.006')).toBe(1); // 0.504
  });
});
