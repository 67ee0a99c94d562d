import { z } from 'zod';
import { positiveMoneySchema } from '@admit/contracts';

export const createRefundSchema = z.strictObject({
  /** In the payment's currency; partial or full, repeatable up to the captured amount. */
  amount: positiveMoneySchema,
  reason: z.string().trim().min(1).max(128).optional(),
});
export type CreateRefund = z.infer<typeof createRefundSchema>;

const money = z.object({ value: z.number().int(), currency: z.string() });
export const refundSchema = z.object({
  id: z.string(),
  paymentId: z.string(),
  merchantId: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  amount: money,
  reason: z.string().optional(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
  succeededAt: z.string().optional(),
  createdAt: z.string(),
});
