/**
 * Amounts in the sandbox are integers in the currency's minor unit. Text amounts follow the
 * wallet's rules: JPY and KRW are whole numbers, every other currency has at most two decimals,
 * range 0.01–100000000.00 (brief §2.1, §2.4).
 */

export const SANDBOX_CURRENCIES = [
  'GBP',
  'HKD',
  'USD',
  'SGD',
  'JPY',
  'CAD',
  'AUD',
  'EUR',
  'NZD',
  'KRW',
  'THB',
  'CHF',
  'SEK',
  'DKK',
  'NOK',
  'MYR',
  'IDR',
  'PHP',
  'MUR',
  'ILS',
  'LKR',
  'RUB',
  'AED',
  'CZK',
  'ZAR',
  'CNY',
] as const;

export function isSandboxCurrency(value: string): boolean {
  return (SANDBOX_CURRENCIES as readonly string[]).includes(value);
}

export function minorDigits(currency: string): number {
  return currency === 'JPY' || currency === 'KRW' ? 0 : 2;
}

/** Parses a wallet amount into minor units; undefined when the text breaks the rules. */
export function parseWalletAmount(text: string, currency: string): number | undefined {
  const digits = minorDigits(currency);
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(text);
  if (!m) return undefined;
  const whole = m[1] ?? '0';
  const fraction = m[2] ?? '';
  if (digits === 0 && fraction !== '') return undefined;
  const minor = Number(whole) * 10 ** digits + (digits === 0 ? 0 : Number(fraction.padEnd(2, '0')));
  const max = 100_000_000 * 10 ** digits;
  if (minor < 1 || minor > max) return undefined;
  return minor;
}

/** Formats minor units as the wallet writes them: "12.50", "1200" (JPY). */
export function formatWalletAmount(minor: number, currency: string): string {
  const digits = minorDigits(currency);
  const negative = minor < 0;
  const abs = Math.abs(minor);
  if (digits === 0) return `${negative ? '-' : ''}${abs}`;
  const unit = 10 ** digits;
  return `${negative ? '-' : ''}${Math.floor(abs / unit)}.${String(abs % unit).padStart(digits, '0')}`;
}

/** A decimal given as text ("0.048"), as an exact fraction numerator / 10^scale. */
type Decimal = { numerator: bigint; scale: bigint };

export function parseDecimal(text: string): Decimal | undefined {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) return undefined;
  const fraction = m[2] ?? '';
  return { numerator: BigInt(`${m[1] ?? '0'}${fraction}`), scale: 10n ** BigInt(fraction.length) };
}

/** round(value × rate), half up, for non-negative values. */
function mulRoundHalfUp(value: bigint, rate: Decimal): bigint {
  const product = value * rate.numerator;
  return (product * 2n + rate.scale) / (2n * rate.scale);
}

/**
 * Converts an amount in `currency` minor units to CNY fen with the given rate (1 unit of
 * `currency` = rate CNY), rounded half up to the fen.
 */
export function toCnyMinor(minor: number, currency: string, rate: string): number {
  const parsed = parseDecimal(rate);
  if (parsed === undefined) throw new RangeError(`bad rate ${rate}`);
  const digits = minorDigits(currency);
  // minor / 10^digits * rate * 100 = minor * rate * 10^(2 - digits)
  const scaledRate: Decimal =
    digits <= 2
      ? { numerator: parsed.numerator * 10n ** BigInt(2 - digits), scale: parsed.scale }
      : { numerator: parsed.numerator, scale: parsed.scale * 10n ** BigInt(digits - 2) };
  return Number(mulRoundHalfUp(BigInt(minor), scaledRate));
}

/** The merchant discount fee on an amount: minor × feeRate, rounded half up to the minor unit. */
export function feeMinor(minor: number, feeRate: string): number {
  const rate = parseDecimal(feeRate);
  if (rate === undefined) throw new RangeError(`bad fee rate ${feeRate}`);
  return Number(mulRoundHalfUp(BigInt(minor), rate));
}
