import { z } from 'zod';
import { idSchema, moneySchema } from '@admit/contracts';

export const createOrderSchema = z.strictObject({
  channel: z.enum(['counter', 'online']),
  items: z
    .array(
      z.strictObject({
        productId: idSchema('product'),
        slotId: idSchema('slot').optional(),
        quantity: z.number().int().min(1).max(100),
      }),
    )
    .min(1)
    .max(20),
  couponCode: z.string().trim().min(1).max(64).optional(),
  customer: z
    .strictObject({
      reference: z.string().trim().min(1).max(128).optional(),
      email: z.email().max(254).optional(),
      phone: z
        .string()
        .regex(/^\+?[0-9 ()-]{5,24}$/)
        .optional(),
    })
    .optional(),
});
export type CreateOrder = z.infer<typeof createOrderSchema>;

export const ticketSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  code: z.string(),
  status: z.enum(['valid', 'used', 'void']),
  entriesLeft: z.number(),
  validFrom: z.string(),
  validTo: z.string(),
  url: z.string(),
});

export const orderSchema = z.object({
  id: z.string(),
  status: z.enum(['pricing', 'awaiting_payment', 'paid', 'fulfilled', 'expired', 'cancelled', 'refunded']),
  channel: z.enum(['counter', 'online']),
  attractionId: z.string(),
  items: z.array(
    z.object({ productId: z.string(), slotId: z.string().optional(), quantity: z.number(), unitPrice: moneySchema }),
  ),
  total: moneySchema,
  discount: moneySchema,
  amountDue: moneySchema,
  couponCode: z.string().optional(),
  holdExpiresAt: z.string().optional(),
  paymentId: z.string().optional(),
  tickets: z.array(ticketSchema),
  createdAt: z.string(),
});
