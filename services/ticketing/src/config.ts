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
});

export type TicketingSettings = CommonSettings & {
  signingKey: string;
  keyId: string;
  publicBaseUrl: string;
  holdMinutes: { counter: number; online: number };
};

export function loadTicketingSettings(env: NodeJS.ProcessEnv = process.env): TicketingSettings {
  const e = loadConfigOrExit('ticketing', schema, env);
  return {
    ...commonSettings('ticketing', 'TICKETING', e as Record<string, unknown>),
    signingKey: e.TICKET_SIGNING_KEY,
    keyId: e.TICKET_KEY_ID,
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/$/, ''),
    holdMinutes: { counter: e.COUNTER_HOLD_MINUTES, online: e.ONLINE_HOLD_MINUTES },
  };
}
