import { z } from 'zod';
import { positiveMoneySchema, moneySchema } from '@admit/contracts';

const timezone = z
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

export const createAttractionSchema = z.strictObject({
  name: z.string().trim().min(1).max(128),
  city: z.string().trim().min(1).max(100),
  timezone,
  address: z.string().trim().min(1).max(256).optional(),
});
export type CreateAttraction = z.infer<typeof createAttractionSchema>;

export const validitySchema = z.union([
  z.literal('slot'),
  z.literal('day'),
  z.strictObject({ days: z.number().int().min(1).max(366) }),
]);

export const createProductSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(128),
    kind: z.enum(['admission', 'restaurant', 'add_on']),
    price: moneySchema,
    entry: z.strictObject({ maxEntries: z.number().int().min(1).max(1000), validity: validitySchema }),
    requiresSlot: z.boolean().default(false),
  })
  .superRefine((p, ctx) => {
    if (p.entry.validity === 'slot' && !p.requiresSlot) {
      ctx.addIssue({ code: 'custom', path: ['requiresSlot'], message: 'slot validity requires requiresSlot: true' });
    }
  });
export type CreateProduct = z.infer<typeof createProductSchema>;

export const attractionSchema = z.object({
  id: z.string(),
  name: z.string(),
  city: z.string(),
  timezone: z.string(),
  address: z.string().optional(),
  createdAt: z.string(),
});
export const productSchema = z.object({
  id: z.string(),
  attractionId: z.string(),
  name: z.string(),
  kind: z.enum(['admission', 'restaurant', 'add_on']),
  price: moneySchema,
  entry: z.object({ maxEntries: z.number(), validity: validitySchema }),
  requiresSlot: z.boolean(),
});
export { positiveMoneySchema };
