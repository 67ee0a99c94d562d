import { z } from 'zod';
import { idSchema, positiveMoneySchema } from '@admit/contracts';

export const createPaymentSchema = z.strictObject({
  orderId: idSchema('order'),
  amount: positiveMoneySchema,
  /** The code scanned from the visitor's wallet app: 16–24 digits. */
  paymentCode: z.string().regex(/^\d{16,24}$/, 'must be the 16 to 24 digit code scanned from the wallet'),
  description: z.string().trim().min(1).max(128).optional(),
  storeId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional(),
});
export type CreatePayment = z.infer<typeof createPaymentSchema>;

/** The cancel takes no fields; an empty object (or no body) is fine. */
export const cancelBodySchema = z.strictObject({}).optional();

const EARLIEST = Date.parse('1970-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** A UTC instant PostgreSQL can compare: a real calendar date between 1970-01-01 and 9999-12-31. */
const instantSchema = z.iso.datetime().refine((v) => {
  const t = Date.parse(v);
  return (
    Number.isFinite(t) && t >= EARLIEST && t <= LATEST && new Date(t).toISOString().slice(0, 10) === v.slice(0, 10)
  );
}, 'must be a real UTC instant between 1970-01-01 and 9999-12-31');

export const listPaymentsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
  orderId: idSchema('order').optional(),
  status: z.enum(['processing', 'succeeded', 'failed', 'cancelled']).optional(),
  createdFrom: instantSchema.optional(),
  createdTo: instantSchema.optional(),
});

const money = z.object({ value: z.number().int(), currency: z.string() });
export const paymentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  merchantId: z.string(),
  status: z.enum(['processing', 'succeeded', 'failed', 'cancelled']),
  amount: money,
  walletTransactionId: z.string().optional(),
  paidAt: z.string().optional(),
  failure: z.object({ code: z.string(), message: z.string() }).optional(),
  exchangeRate: z.string().optional(),
  settlementAmount: money.optional(),
  refundedAmount: money,
  /** Cancelled payments: whether captured money was returned to the buyer (a reversal). */
  reversed: z.boolean().optional(),
  cancelledAt: z.string().optional(),
  /** A merchant cancel still waiting for the wallet's confirmation, or refused by the wallet. */
  cancellation: z
    .object({
      status: z.enum(['pending', 'refused']),
      requestedAt: z.string().optional(),
      failure: z.object({ code: z.string(), message: z.string() }).optional(),
    })
    .optional(),
  /** The wallet did not confirm a cancel: the money state needs a human (an alarm was raised). */
  review: z.object({ reason: z.string(), since: z.string() }).optional(),
  createdAt: z.string(),
});
