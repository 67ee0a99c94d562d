import { z } from 'zod';

export type MapiSignType = 'MD5' | 'RSA2';

/**
 * Configuration of {@link AlipayMapiGateway}. Passed in by the caller (the payment service reads
 * it from its environment); this module never reads `process.env`.
 */
export type AlipayMapiConfig = {
  /** Full URL of the gateway, e.g. `https://globalmapi.alipay.com/gateway.do` or the sandbox's `http://127.0.0.1:3010/gateway.do`. */
  gatewayUrl: string;
  /** The partner id (PID): 16 digits starting with 2088. */
  partnerId: string;
  signType: MapiSignType;
  /** 32-character MD5 key (required for MD5). */
  md5Key?: string;
  /** Merchant RSA private key, PEM (PKCS#8 or PKCS#1); required for RSA2. */
  privateKeyPem?: string;
  /** The wallet's RSA public key, PEM; required for RSA2 (verifies responses and notifications). */
  walletPublicKeyPem?: string;
  /** Where the wallet should post asynchronous notifications (sent as `notify_url` on pay). */
  notifyUrl?: string;
  /** Total time allowed for one call, from connect to the last byte of the answer. */
  timeoutMs: number;
  /** Time allowed to open the TCP (and TLS) connection; defaults to min(5000, timeoutMs). */
  connectTimeoutMs?: number;
};

export const alipayMapiConfigSchema = z
  .object({
    gatewayUrl: z.url({ protocol: /^https?$/ }),
    partnerId: z.string().regex(/^2088\d{12}$/, 'partner id must be 16 digits starting with 2088'),
    signType: z.enum(['MD5', 'RSA2']),
    md5Key: z
      .string()
      .regex(/^[A-Za-z0-9]{32}$/, 'MD5 key must be 32 letters or digits')
      .optional(),
    privateKeyPem: z.string().min(1).optional(),
    walletPublicKeyPem: z.string().min(1).optional(),
    notifyUrl: z
      .url({ protocol: /^https?$/ })
      .max(200)
      .optional(),
    timeoutMs: z.number().int().positive().max(120_000),
    connectTimeoutMs: z.number().int().positive().max(120_000).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.signType === 'MD5' && c.md5Key === undefined) {
      ctx.addIssue({ code: 'custom', path: ['md5Key'], message: 'required when signType is MD5' });
    }
    if (c.signType === 'RSA2') {
      if (c.privateKeyPem === undefined) {
        ctx.addIssue({ code: 'custom', path: ['privateKeyPem'], message: 'required when signType is RSA2' });
      }
      if (c.walletPublicKeyPem === undefined) {
        ctx.addIssue({ code: 'custom', path: ['walletPublicKeyPem'], message: 'required when signType is RSA2' });
      }
    }
  });
