import { z } from 'zod';
import { commonEnv, commonSettings, envInt, loadConfigOrExit, type CommonSettings } from '@admit/service-kit';

const schema = z.object({
  ...commonEnv('TICKETING', 3002, 'admit_ticketing'),
  /** Ed25519 private key, base64 of the PKCS#8 DER, that signs ticket codes. */
  TICKET_SIGNING_KEY: z.string().min(40, 'base64 PKCS#8 DER Ed25519 private key'),
  TICKET_KEY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,16}$/)
    .default('k1'),
  PUBLIC_BASE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:3002'),
  COUNTER_HOLD_MINUTES: envInt(5, 1, 24 * 60),
  ONLINE_HOLD_MINUTES: envInt(15, 1, 24 * 60),
  /** Tests only: every hold lasts this many seconds (0 = use the minutes above). */
  HOLD_SECONDS_OVERRIDE: envInt(0, 0, 24 * 3600),
  /** How often the hold-expiry worker looks for expired holds. */
  HOLD_SWEEP_MS: envInt(1000, 50, 60_000),
  /** How long POST /v1/orders waits for coupon pricing before answering `pricing`. */
  PRICING_WAIT_MS: envInt(2000, 0, 10_000),
  /** Offline kits are valid for this many hours. */
  OFFLINE_KIT_HOURS: envInt(24, 1, 24 * 7),
  /** Online scans committed together at most (group commit, docs/ticketing.md). */
  SCAN_BATCH_MAX: envInt(128, 1, 1000),
  /** Scan batches being written at once (each holds a database connection). */
  SCAN_BATCH_WRITERS: envInt(2, 1, 16),
});

export type TicketingSettings = CommonSettings & {
  signingKey: string;
  keyId: string;
  publicBaseUrl: string;
  holdMinutes: { counter: number; online: number };
  /** Hold length per channel in seconds (from the minutes, or the test override). */
  holdSeconds: { counter: number; online: number };
  holdSweepMs: number;
  pricingWaitMs: number;
  offlineKitHours: number;
  scanBatchMax: number;
  scanBatchWriters: number;
};

export function loadTicketingSettings(env: NodeJS.ProcessEnv = process.env): TicketingSettings {
  const e = loadConfigOrExit('ticketing', schema, env);
  return {
    ...commonSettings('ticketing', 'TICKETING', e as Record<string, unknown>),
    signingKey: e.TICKET_SIGNING_KEY,
    keyId: e.TICKET_KEY_ID,
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/$/, ''),
    holdMinutes: { counter: e.COUNTER_HOLD_MINUTES, online: e.ONLINE_HOLD_MINUTES },
    holdSeconds: {
      counter: e.HOLD_SECONDS_OVERRIDE || e.COUNTER_HOLD_MINUTES * 60,
      online: e.HOLD_SECONDS_OVERRIDE || e.ONLINE_HOLD_MINUTES * 60,
    },
    holdSweepMs: e.HOLD_SWEEP_MS,
    pricingWaitMs: e.PRICING_WAIT_MS,
    offlineKitHours: e.OFFLINE_KIT_HOURS,
    scanBatchMax: e.SCAN_BATCH_MAX,
    scanBatchWriters: e.SCAN_BATCH_WRITERS,
  };
}
