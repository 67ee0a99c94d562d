import { z } from 'zod';

export const listOffersQuerySchema = z.strictObject({
  city: z.string().trim().min(1).max(100),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
});
export type ListOffersQuery = z.infer<typeof listOffersQuerySchema>;

const money = z.object({ value: z.number().int(), currency: z.string() });

/** A campaign's discount as stored: `{ percentOff }` or `{ amountOff: Money }`. */
export const discountSchema = z.union([z.object({ percentOff: z.number() }), z.object({ amountOff: money })]);

export const offerSchema = z.object({
  campaignId: z.string(),
  name: z.string(),
  city: z.string(),
  discount: discountSchema,
  validTo: z.string(),
  /** Coupons still available when the campaign caps total redemptions. */
  remaining: z.number().int().optional(),
});
export type Offer = z.infer<typeof offerSchema>;
