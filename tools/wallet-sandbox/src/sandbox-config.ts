import path from 'node:path';
import { z } from 'zod';
import type { SandboxSignType } from './sandbox-signer';

/** Everything the sandbox can be configured with. {@link loadSandboxOptionsFromEnv} maps env vars onto it. */
export type SandboxOptions = {
  /** Port to listen on; 0 picks a free port. */
  port: number;
  host: string;
  databaseUrl: string;
  partnerId: string;
  /** The sign type contracted for the partner: requests signed otherwise get ILLEGAL_SIGN_TYPE. */
  signType: SandboxSignType;
  md5Key: string;
  /** Wallet private key PEM (signs answers and notifications in RSA2). */
  privateKeyPem?: string;
  /** Merchant public key PEM (verifies requests in RSA2). */
  merchantPublicKeyPem?: string;
  /** Where dev RSA keys are created when RSA2 is used without keys. */
  keyDir: string;
  /** When set, notifications go here instead of the request's notify_url. */
  notifyUrlOverride?: string;
  /** Extra latency before every gateway answer. */
  latencyMs: number;
  /** How long the 5000–5999 codes hold the first spot.pay answer back. */
  timeoutSleepMs: number;
  /** How long the 1000–1999 codes wait for the buyer's confirmation. */
  confirmDelayMs: number;
  /** Currency → CNY rates, as decimal strings. */
  fxRates: Record<string, string>;
  /** Merchant discount rate, decimal string (0.006 = 0.6 %). */
  feeRate: string;
  /** Multiplies the notification retry schedule (1 = real time, 0.0001 = milliseconds). */
  notifyScheduleScale: number;
  /** Time allowed to the merchant to answer one notification. */
  notifyTimeoutMs: number;
  /** Background loop period (buyer confirmations, notification deliveries). */
  tickMs: number;
  /** When true, spot.pay requires the extend_info secondary merchant/store to be registered first. */
  requireRegistration: boolean;
  /** Clock; tests shift it to cross GMT+8 days. */
  now: () => Date;
  log: (line: string) => void;
};

export const DEFAULT_MD5_KEY = 'admitsandboxdevkey0123456789abcd';
export const DEFAULT_PARTNER_ID = '2088000000000001';
export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/admit_wallet_sandbox';
export const DEFAULT_FX_RATES: Readonly<Record<string, string>> = {
  CNY: '1',
  JPY: '0.048',
  USD: '7.1',
  EUR: '7.8',
  GBP: '9.1',
  HKD: '0.91',
  SGD: '5.3',
  KRW: '0.0052',
  AUD: '4.7',
  CAD: '5.2',
  CHF: '8.1',
  THB: '0.2',
  NZD: '4.3',
  MYR: '1.52',
};

export function defaultSandboxOptions(): SandboxOptions {
  return {
    port: 3010,
    host: '127.0.0.1',
    databaseUrl: DEFAULT_DATABASE_URL,
    partnerId: DEFAULT_PARTNER_ID,
    signType: 'MD5',
    md5Key: DEFAULT_MD5_KEY,
    keyDir: path.resolve('tmp/wallet-sandbox-keys'),
    latencyMs: 0,
    timeoutSleepMs: 20_000,
    confirmDelayMs: 3_000,
    fxRates: { ...DEFAULT_FX_RATES },
    feeRate: '0.006',
    notifyScheduleScale: 1,
    notifyTimeoutMs: 5_000,
    tickMs: 200,
    requireRegistration: false,
    now: () => new Date(),
    log: (line) => process.stdout.write(`[wallet-sandbox] ${line}\n`),
  };
}

const decimalText = z.string().regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal');
const intText = (min: number) => z.coerce.number().int().min(min);

const envSchema = z.object({
  SANDBOX_PORT: intText(0).max(65535).optional(),
  SANDBOX_HOST: z.string().min(1).optional(),
  SANDBOX_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  SANDBOX_PARTNER_ID: z
    .string()
    .regex(/^2088\d{12}$/, 'must be 16 digits starting with 2088')
    .optional(),
  SANDBOX_MD5_KEY: z
    .string()
    .regex(/^[A-Za-z0-9]{32}$/, 'must be 32 letters or digits')
    .optional(),
  SANDBOX_SIGN_TYPE: z.enum(['MD5', 'RSA2']).optional(),
  SANDBOX_PRIVATE_KEY_PEM: z.string().min(1).optional(),
  SANDBOX_MERCHANT_PUBLIC_KEY_PEM: z.string().min(1).optional(),
  SANDBOX_KEY_DIR: z.string().min(1).optional(),
  SANDBOX_NOTIFY_URL: z.url({ protocol: /^https?$/ }).optional(),
  SANDBOX_LATENCY_MS: intText(0).optional(),
  SANDBOX_TIMEOUT_SLEEP_MS: intText(0).optional(),
  SANDBOX_CONFIRM_DELAY_MS: intText(0).optional(),
  SANDBOX_FX_RATES: z.string().optional(),
  SANDBOX_FEE_RATE: decimalText.optional(),
  SANDBOX_NOTIFY_SCHEDULE_SCALE: z.coerce.number().positive().optional(),
  SANDBOX_NOTIFY_TIMEOUT_MS: intText(1).optional(),
  SANDBOX_TICK_MS: intText(10).optional(),
  SANDBOX_REQUIRE_REGISTRATION: z.enum(['true', 'false']).optional(),
});

const fxRatesSchema = z.record(z.string().regex(/^[A-Z]{3}$/), z.union([decimalText, z.number().positive()]));

/** Reads the SANDBOX_* variables (unset or empty variables keep the defaults). Throws on bad values. */
export function loadSandboxOptionsFromEnv(env: NodeJS.ProcessEnv): SandboxOptions {
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('SANDBOX_') && value !== undefined && value !== '') present[key] = value;
  }
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new Error(
      `bad wallet sandbox environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const e = parsed.data;
  const options = defaultSandboxOptions();
  if (e.SANDBOX_PORT !== undefined) options.port = e.SANDBOX_PORT;
  if (e.SANDBOX_HOST !== undefined) options.host = e.SANDBOX_HOST;
  if (e.SANDBOX_DATABASE_URL !== undefined) options.databaseUrl = e.SANDBOX_DATABASE_URL;
  if (e.SANDBOX_PARTNER_ID !== undefined) options.partnerId = e.SANDBOX_PARTNER_ID;
  if (e.SANDBOX_MD5_KEY !== undefined) options.md5Key = e.SANDBOX_MD5_KEY;
  if (e.SANDBOX_SIGN_TYPE !== undefined) options.signType = e.SANDBOX_SIGN_TYPE;
  if (e.SANDBOX_PRIVATE_KEY_PEM !== undefined) options.privateKeyPem = e.SANDBOX_PRIVATE_KEY_PEM;
  if (e.SANDBOX_MERCHANT_PUBLIC_KEY_PEM !== undefined) options.merchantPublicKeyPem = e.SANDBOX_MERCHANT_PUBLIC_KEY_PEM;
  if (e.SANDBOX_KEY_DIR !== undefined) options.keyDir = path.resolve(e.SANDBOX_KEY_DIR);
  if (e.SANDBOX_NOTIFY_URL !== undefined) options.notifyUrlOverride = e.SANDBOX_NOTIFY_URL;
  if (e.SANDBOX_LATENCY_MS !== undefined) options.latencyMs = e.SANDBOX_LATENCY_MS;
  if (e.SANDBOX_TIMEOUT_SLEEP_MS !== undefined) options.timeoutSleepMs = e.SANDBOX_TIMEOUT_SLEEP_MS;
  if (e.SANDBOX_CONFIRM_DELAY_MS !== undefined) options.confirmDelayMs = e.SANDBOX_CONFIRM_DELAY_MS;
  if (e.SANDBOX_FEE_RATE !== undefined) options.feeRate = e.SANDBOX_FEE_RATE;
  if (e.SANDBOX_NOTIFY_SCHEDULE_SCALE !== undefined) options.notifyScheduleScale = e.SANDBOX_NOTIFY_SCHEDULE_SCALE;
  if (e.SANDBOX_NOTIFY_TIMEOUT_MS !== undefined) options.notifyTimeoutMs = e.SANDBOX_NOTIFY_TIMEOUT_MS;
  if (e.SANDBOX_TICK_MS !== undefined) options.tickMs = e.SANDBOX_TICK_MS;
  if (e.SANDBOX_REQUIRE_REGISTRATION !== undefined)
    options.requireRegistration = e.SANDBOX_REQUIRE_REGISTRATION === 'true';
  if (e.SANDBOX_FX_RATES !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(e.SANDBOX_FX_RATES);
    } catch {
      throw new Error('SANDBOX_FX_RATES must be a JSON object such as {"JPY":"0.048"}');
    }
    const rates = fxRatesSchema.safeParse(json);
    if (!rates.success) throw new Error('SANDBOX_FX_RATES must map 3-letter currencies to positive decimals');
    // Given rates extend (and override) the defaults.
    for (const [currency, rate] of Object.entries(rates.data)) options.fxRates[currency] = String(rate);
  }
  return options;
}
