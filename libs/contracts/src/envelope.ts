import { z } from 'zod';

/**
 * The envelope every Kafka event carries (JSON value of the record). `aggregateId` is also the
 * record key. `eventId` is the deduplication key of the idempotent consumer.
 */
export const envelopeSchema = z.strictObject({
  eventId: z.uuid(),
  type: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
  schemaVersion: z.number().int().positive(),
  occurredAt: z.iso.datetime({ offset: false }),
  merchantId: z.string().min(1).nullable(),
  correlationId: z.string().min(1).max(128),
  causationId: z.string().min(1).max(128).nullable(),
  aggregateType: z.string().min(1),
  aggregateId: z.string().min(1),
  payload: z.unknown(),
});
export type Envelope<P = unknown> = Omit<z.infer<typeof envelopeSchema>, 'payload'> & { payload: P };
