/** Injection token of the payment service's settings (config.ts). */
export const PAYMENT_SETTINGS = Symbol('PAYMENT_SETTINGS');
/** Injection token of the payment metrics (metrics.ts). */
export const PAYMENT_METRICS = Symbol('PAYMENT_METRICS');

/** How long a claim on a payment or refund lasts: long enough for two wallet calls and the writes. */
export function leaseMs(walletTimeoutMs: number): number {
  return 2 * walletTimeoutMs + 10_000;
}
