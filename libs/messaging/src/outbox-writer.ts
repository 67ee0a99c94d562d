import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import {
  EVENT_REGISTRY,
  HEADERS,
  latestVersion,
  type Envelope,
  type EventPayload,
  type EventType,
} from '@admit/contracts';
import { currentFlow, newCorrelationId } from './context';
import { markOutboxWritten } from './outbox-signal';

export type NewEvent<T extends EventType> = {
  type: T;
  aggregateId: string;
  merchantId: string | null;
  payload: EventPayload<T>;
  /** Defaults to the current flow's correlation id. */
  correlationId?: string;
  /** Defaults to the current flow's causation (the consumed event or the HTTP request). */
  causationId?: string | null;
  occurredAt?: Date;
};

/** Thrown when code tries to publish an event that does not satisfy its contract. */
export class EventContractError extends Error {
  constructor(type: string, issues: string) {
    super(`event ${type} violates its contract: ${issues}`);
    this.name = 'EventContractError';
  }
}

/**
 * Builds the envelope, validates the payload against its contract (a producer never emits an
 * event its consumers would dead-letter) and inserts it into the outbox with `manager`, which
 * must be the transaction of the state change. Returns the envelope.
 */
export async function appendToOutbox<T extends EventType>(
  manager: EntityManager,
  event: NewEvent<T>,
): Promise<Envelope<EventPayload<T>>> {
  const [envelope] = await appendManyToOutbox(manager, [event]);
  return envelope as Envelope<EventPayload<T>>;
}

export async function appendManyToOutbox(manager: EntityManager, events: NewEvent<EventType>[]): Promise<Envelope[]> {
  if (events.length === 0) return [];
  const flow = currentFlow();
  const envelopes: Envelope[] = [];
  const params: unknown[] = [];
  const rows: string[] = [];
  for (const e of events) {
    const def = EVENT_REGISTRY[e.type];
    const version = latestVersion(e.type);
    const schema = (
      def.versions as Record<
        number,
        { safeParse(v: unknown): { success: boolean; error?: { message: string }; data?: unknown } }
      >
    )[version];
    const parsed = schema?.safeParse(e.payload);
    if (!parsed?.success) throw new EventContractError(e.type, parsed?.error?.message ?? 'no schema');
    const envelope: Envelope = {
      eventId: randomUUID(),
      type: e.type,
      schemaVersion: version,
      occurredAt: (e.occurredAt ?? new Date()).toISOString(),
      merchantId: e.merchantId,
      correlationId: e.correlationId ?? flow?.correlationId ?? newCorrelationId(),
      causationId: e.causationId !== undefined ? e.causationId : (flow?.causationId ?? null),
      aggregateType: def.aggregate,
      aggregateId: e.aggregateId,
      payload: parsed.data,
    };
    envelopes.push(envelope);
    const headers: Record<string, string> = {
      [HEADERS.eventId]: envelope.eventId,
      [HEADERS.eventType]: envelope.type,
      [HEADERS.schemaVersion]: String(envelope.schemaVersion),
      [HEADERS.correlationId]: envelope.correlationId,
    };
    if (envelope.causationId) headers[HEADERS.causationId] = envelope.causationId;
    const n = params.length;
    rows.push(`($${n + 1}::uuid, $${n + 2}, $${n + 3}, $${n + 4}, $${n + 5}::jsonb)`);
    params.push(envelope.eventId, def.topic, envelope.aggregateId, JSON.stringify(envelope), JSON.stringify(headers));
  }
  await manager.query(
    `INSERT INTO outbox (event_id, topic, message_key, value, headers) VALUES ${rows.join(', ')}`,
    params,
  );
  markOutboxWritten(manager);
  return envelopes;
}

/** Inserts a raw record (used for dead-letter records, which keep the original bytes). */
export async function appendRawToOutbox(
  manager: EntityManager,
  record: { topic: string; key: string; value: string; headers: Record<string, string>; eventId: string | null },
): Promise<void> {
  await manager.query(
    `INSERT INTO outbox (event_id, topic, message_key, value, headers) VALUES ($1::uuid, $2, $3, $4, $5::jsonb)`,
    [record.eventId, record.topic, record.key, record.value, JSON.stringify(record.headers)],
  );
  markOutboxWritten(manager);
}
