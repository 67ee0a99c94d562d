import { z } from 'zod';
import { idSchema } from '@admit/contracts';

/** The merchant's own reference of a visitor (loyalty id, hashed phone, …). */
export const customerReferenceSchema = z.string().trim().min(1).max(255);

export const listPurchasesQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
  customerReference: customerReferenceSchema.optional(),
  orderId: idSchema('order').optional(),
});
export type ListPurchasesQuery = z.infer<typeof listPurchasesQuerySchema>;

const money = z.object({ value: z.number().int(), currency: z.string() });

export const purchaseSchema = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  attractionId: z.string(),
  city: z.string(),
  customerReference: z.string().nullable(),
  paymentId: z.string(),
  amountPaid: money,
  ticketCount: z.number().int(),
  productKinds: z.array(z.string()),
  issuedAt: z.string(),
});
export type Purchase = z.infer<typeof purchaseSchema>;
