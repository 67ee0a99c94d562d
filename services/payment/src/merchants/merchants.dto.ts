import { z } from 'zod';
import { apiScopeSchema, currencySchema, idSchema } from '@admit/contracts';

const timezoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Asia/Shanghai');

export const createMerchantSchema = z.strictObject({
  name: z.string().trim().min(1).max(128),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code'),
  city: z.string().trim().min(1).max(100),
  timezone: timezoneSchema,
  mcc: z.string().regex(/^\d{4}$/, 'must be a 4-digit merchant category code'),
  settlementCurrency: currencySchema,
});
export type CreateMerchant = z.infer<typeof createMerchantSchema>;

export const createApiKeySchema = z
  .strictObject({ scope: z.enum(['merchant', 'gate']), attractionId: idSchema('attraction').optional() })
  .superRefine((v, ctx) => {
    if (v.scope === 'gate' && !v.attractionId)
      ctx.addIssue({ code: 'custom', path: ['attractionId'], message: 'required for a gate key' });
    if (v.scope === 'merchant' && v.attractionId)
      ctx.addIssue({ code: 'custom', path: ['attractionId'], message: 'only for gate keys' });
  });

export const merchantSchema = z.object({
  id: z.string(),
  name: z.string(),
  country: z.string(),
  city: z.string(),
  timezone: z.string(),
  mcc: z.string(),
  settlementCurrency: currencySchema,
  walletRegistration: z.enum(['pending', 'registered', 'failed']),
  createdAt: z.string(),
});

export const apiKeySchema = z.object({
  id: z.string(),
  secret: z.string().optional(),
  scope: apiScopeSchema,
  merchantId: z.string().nullable(),
  attractionId: z.string().nullable().optional(),
  createdAt: z.string(),
});
