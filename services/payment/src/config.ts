import { z } from 'zod';
import { commonEnv, commonSettings, envInt, loadConfigOrExit, type CommonSettings } from '@admit/service-kit';

const schema = z
  .object({
    ...commonEnv('PAYMENT', 3001, 'admit_payment'),
    WALLET_GATEWAY_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:3010/gateway.do'),
    WALLET_PARTNER_ID: z
      .string()
      .regex(/^2088\d{12}$/)
      .default('2088000000000001'),
    WALLET_SIGN_TYPE: z.enum(['MD5', 'RSA2']).default('MD5'),
    WALLET_MD5_KEY: z
      .string()
      .regex(/^[A-Za-z0-9]{32}$/)
      .optional(),
    WALLET_PRIVATE_KEY_PEM: z.string().optional(),
    WALLET_PUBLIC_KEY_PEM: z.string().optional(),
    WALLET_NOTIFY_URL: z.url({ protocol: /^https?$/ }).optional(),
    WALLET_TIMEOUT_MS: envInt(15000, 100, 120000),
    PAYMENT_SYNC_WAIT_MS: envInt(8000, 0, 60000),
    /** How long a payment (or gate key) waits for its order (attraction) to be known from the events. */
    PAYMENT_ORDER_WAIT_MS: envInt(3000, 0, 60000),
    /** How long the resolver keeps querying an unresolved payment before it cancels it. */
    PAYMENT_RESOLVE_WINDOW_MS: envInt(60000, 1000, 24 * 3600_000),
    /** How often the resolver looks for due work when nothing woke it. */
    PAYMENT_RESOLVER_POLL_MS: envInt(500, 50, 60000),
    /** Payments (and refunds) one resolver works on at the same time. */
    PAYMENT_RESOLVER_CONCURRENCY: envInt(16, 1, 256),
  })
  .superRefine((env, ctx) => {
    if (env.WALLET_SIGN_TYPE === 'MD5' && !env.WALLET_MD5_KEY) {
      ctx.addIssue({ code: 'custom', path: ['WALLET_MD5_KEY'], message: 'required when WALLET_SIGN_TYPE=MD5' });
    }
    if (env.WALLET_SIGN_TYPE === 'RSA2' && (!env.WALLET_PRIVATE_KEY_PEM || !env.WALLET_PUBLIC_KEY_PEM)) {
      ctx.addIssue({
        code: 'custom',
        path: ['WALLET_PRIVATE_KEY_PEM'],
        message: 'WALLET_PRIVATE_KEY_PEM and WALLET_PUBLIC_KEY_PEM are required when WALLET_SIGN_TYPE=RSA2',
      });
    }
  });

export type PaymentSettings = CommonSettings & {
  wallet: {
    gatewayUrl: string;
    partnerId: string;
    signType: 'MD5' | 'RSA2';
    md5Key?: string;
    privateKeyPem?: string;
    walletPublicKeyPem?: string;
    notifyUrl?: string;
    timeoutMs: number;
  };
  syncWaitMs: number;
  /** Wait for an order or attraction not yet known from ticketing's events, before answering 404. */
  orderWaitMs: number;
  resolver: {
    /** Query window of an unresolved payment, from its creation; then cancel. */
    windowMs: number;
    pollMs: number;
    concurrency: number;
  };
};

export function loadPaymentSettings(env: NodeJS.ProcessEnv = process.env): PaymentSettings {
  const e = loadConfigOrExit('payment', schema, env);
  return {
    ...commonSettings('payment', 'PAYMENT', e as Record<string, unknown>),
    wallet: {
      gatewayUrl: e.WALLET_GATEWAY_URL,
      partnerId: e.WALLET_PARTNER_ID,
      signType: e.WALLET_SIGN_TYPE,
      ...(e.WALLET_MD5_KEY ? { md5Key: e.WALLET_MD5_KEY } : {}),
      ...(e.WALLET_PRIVATE_KEY_PEM ? { privateKeyPem: e.WALLET_PRIVATE_KEY_PEM } : {}),
      ...(e.WALLET_PUBLIC_KEY_PEM ? { walletPublicKeyPem: e.WALLET_PUBLIC_KEY_PEM } : {}),
      ...(e.WALLET_NOTIFY_URL ? { notifyUrl: e.WALLET_NOTIFY_URL } : {}),
      timeoutMs: e.WALLET_TIMEOUT_MS,
    },
    syncWaitMs: e.PAYMENT_SYNC_WAIT_MS,
    orderWaitMs: e.PAYMENT_ORDER_WAIT_MS,
    resolver: {
      windowMs: e.PAYMENT_RESOLVE_WINDOW_MS,
      pollMs: e.PAYMENT_RESOLVER_POLL_MS,
      concurrency: e.PAYMENT_RESOLVER_CONCURRENCY,
    },
  };
}
