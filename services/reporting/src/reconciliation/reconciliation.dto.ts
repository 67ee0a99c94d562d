import { z } from 'zod';
import { idSchema } from '@admit/contracts';

const dateSchema = z.iso
  .date({ message: 'must be a calendar date YYYY-MM-DD' })
  .refine((d) => d >= '1970-01-01' && d <= '9999-12-30', 'must be between 1970-01-01 and 9999-12-30');

/** `POST /v1/reconciliations`: a wallet file for one GMT+8 wallet day. */
export const createReconciliationSchema = z.strictObject({
  kind: z.enum(['transaction', 'settlement']),
  date: dateSchema,
  content: z.string().min(1).max(5_000_000),
  /** Only these sub-merchants' ledger entries are expected in the file (default: all merchants). */
  merchantIds: z.array(idSchema('merchant')).min(1).max(1000).optional(),
});
export type CreateReconciliation = z.infer<typeof createReconciliationSchema>;

export const reconciliationQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
  date: dateSchema.optional(),
});

const money = z.object({ value: z.number().int(), currency: z.string() });
const side = z.object({ amount: money, fee: money }).nullable();

export const reconciliationSchema = z.object({
  id: z.string(),
  kind: z.enum(['transaction', 'settlement']),
  date: z.string(),
  partnerId: z.string().nullable(),
  merchantIds: z.array(z.string()).nullable(),
  summary: z.object({
    matched: z.number().int(),
    missingInLedger: z.number().int(),
    missingInWallet: z.number().int(),
    amountMismatch: z.number().int(),
    feeMismatch: z.number().int(),
  }),
  lines: z.array(
    z.object({
      status: z.enum(['matched', 'missingInLedger', 'missingInWallet', 'amountMismatch', 'feeMismatch']),
      line: z.number().int().nullable(),
      type: z.string(),
      walletTransactionId: z.string().nullable(),
      partnerTransactionId: z.string().nullable(),
      merchantId: z.string().nullable(),
      expected: side,
      actual: side,
    }),
  ),
  createdAt: z.string(),
});
