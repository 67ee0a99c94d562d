import { z } from 'zod';
import { idSchema, positiveMoneySchema, moneySchema } from '@admit/contracts';

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

/** A calendar date PostgreSQL and the calendar agree on (years 1970 to 9999). */
const isoDate = z.iso
  .date()
  .refine((d) => d >= '1970-01-01' && d <= '9999-12-31', 'must be a date between 1970-01-01 and 9999-12-31');
export const slotScheduleSchema = z
  .strictObject({
    from: isoDate,
    to: isoDate,
    times: z
      .array(z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:MM (00:00 to 23:59)'))
      .min(1)
      .max(288)
      .refine((t) => new Set(t).size === t.length, 'times must be distinct'),
    durationMinutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
    capacity: z.number().int().min(0).max(1_000_000),
    productIds: z.array(idSchema('product')).min(1).max(50).optional(),
  })
  .superRefine((s, ctx) => {
    const days = (Date.parse(s.to) - Date.parse(s.from)) / 86_400_000;
    if (days < 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must not be before from' });
    else if (days > 366) ctx.addIssue({ code: 'custom', path: ['to'], message: 'at most 367 days per schedule' });
  });
export type SlotSchedule = z.infer<typeof slotScheduleSchema>;

export const availabilityQuerySchema = z.strictObject({ date: isoDate });

export const slotSchema = z.object({
  id: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
  capacity: z.number(),
  held: z.number(),
  sold: z.number(),
  available: z.number(),
});
