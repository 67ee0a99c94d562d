import { z } from 'zod';
import { currencySchema, idSchema, MAX_MINOR_VALUE } from '@admit/contracts';
import { CODE_ALPHABET, isTimeZone } from './rules';

const positiveMoney = z.strictObject({
  value: z.number().int().min(1).max(MAX_MINOR_VALUE),
  currency: currencySchema,
});

/** `YYYY-MM-DD`, `YYYY-MM-DDTHH:mm[:ss]` (wall clock in the campaign's time zone) or an ISO time with offset. */
const when = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/, {
    message: 'a date, a local time or an ISO-8601 time',
    abort: true,
  })
  .refine(
    (s) => !Number.isNaN(new Date(s.length === 10 ? `${s}T00:00:00Z` : s.replace(/(T\d\d:\d\d)$/, '$1:00')).getTime()),
    {
      message: 'not a real date',
    },
  );

export const discountInputSchema = z.union([
  z.strictObject({
    percentOff: z
      .number()
      .gt(0)
      .max(100)
      .refine((n) => Number.isInteger(Math.round(n * 100)) && Math.abs(n * 100 - Math.round(n * 100)) < 1e-9, {
        message: 'at most two decimals',
      }),
  }),
  z.strictObject({ amountOff: positiveMoney }),
]);

export const conditionsSchema = z.strictObject({
  minSpend: positiveMoney.optional(),
  productKinds: z
    .array(z.enum(['admission', 'restaurant', 'add_on']))
    .min(1)
    .max(3)
    .optional(),
});

export const limitsSchema = z.strictObject({
  totalRedemptions: z.number().int().min(1).max(100_000_000).optional(),
  budget: positiveMoney.optional(),
  perCustomer: z.number().int().min(1).max(1000).optional(),
});

const codeSchema = z
  .string()
  .trim()
  .min(4)
  .max(32)
  .regex(/^[A-Za-z0-9-]+$/, 'letters, digits and dashes');

const baseFields = {
  name: z.string().trim().min(1).max(200),
  city: z.string().trim().min(1).max(100).optional(),
  attractionIds: z.array(idSchema('attraction')).max(100).optional(),
  discount: discountInputSchema,
  conditions: conditionsSchema.optional(),
  limits: limitsSchema.optional(),
  validFrom: when,
  validTo: when,
  /** IANA time zone the local validity times are read in; default: the merchant's. */
  timezone: z.string().min(1).max(64).refine(isTimeZone, 'not an IANA time zone').optional(),
  stacking: z.enum(['exclusive', 'stackable']).default('exclusive'),
  status: z.enum(['active', 'paused']).default('active'),
};

export const createCampaignSchema = z
  .strictObject({
    ...baseFields,
    trigger: z.enum(['code', 'post_purchase', 'claim']),
    code: codeSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.code !== undefined && c.trigger !== 'code')
      ctx.addIssue({ code: 'custom', path: ['code'], message: 'only a code campaign takes a code' });
    if (c.trigger === 'claim' && c.city === undefined)
      ctx.addIssue({ code: 'custom', path: ['city'], message: 'a claim campaign is offered in a city' });
  });
export type CreateCampaign = z.infer<typeof createCampaignSchema>;

export const updateCampaignSchema = z
  .strictObject({
    name: baseFields.name.optional(),
    city: baseFields.city.nullable(),
    attractionIds: baseFields.attractionIds,
    discount: discountInputSchema.optional(),
    conditions: conditionsSchema.optional(),
    limits: limitsSchema.optional(),
    validFrom: when.optional(),
    validTo: when.optional(),
    timezone: baseFields.timezone,
    stacking: z.enum(['exclusive', 'stackable']).optional(),
    status: z.enum(['active', 'paused']).optional(),
  })
  .refine((u) => Object.keys(u).length > 0, { message: 'nothing to change', path: ['(body)'] });
export type UpdateCampaign = z.infer<typeof updateCampaignSchema>;

export const listCampaignsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
  trigger: z.enum(['code', 'post_purchase', 'claim']).optional(),
  status: z.enum(['active', 'paused']).optional(),
});
export type ListCampaignsQuery = z.infer<typeof listCampaignsQuerySchema>;

export { CODE_ALPHABET };
