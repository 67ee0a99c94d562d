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
import { preparedQuery } from './prepared';

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
  const { envelopes, columns } = outboxRows(events);
  // One constant statement for any number of events (prepared once per connection); ids are
  // taken in the order of the arrays, which is the order the events were given in.
  await preparedQuery(manager, 'admit_outbox_append', outboxInsertSql(1), columns);
  await markOutboxWritten(manager);
  return envelopes;
}

/**
 * The envelopes of `events` (validated against their contracts) and the five column arrays of
 * their outbox rows, for `outboxInsertSql`. For a caller that writes its state change and its
 * events in one statement (a CTE, committed on its own): after that statement has committed it
 * calls `markOutboxWritten(dataSource.manager)` to wake the relay.
 */
export function outboxRows(events: NewEvent<EventType>[]): {
  envelopes: Envelope[];
  columns: [string[], string[], string[], string[], string[]];
} {
  const flow = currentFlow();
  const envelopes: Envelope[] = [];
  const columns: [string[], string[], string[], string[], string[]] = [[], [], [], [], []];
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
    columns[0].push(envelope.eventId);
    columns[1].push(def.topic);
    columns[2].push(envelope.aggregateId);
    columns[3].push(JSON.stringify(envelope));
    columns[4].push(JSON.stringify(headers));
  }
  return { envelopes, columns };
}

/**
 * The outbox INSERT of `outboxRows`' five arrays as parameters `$first` … `$first+4`, in their
 * order; with `onlyIf`, a boolean SQL expression, the rows are inserted only when it holds (a CTE
 * whose event depends on another part of the statement).
 */
export function outboxInsertSql(first: number, onlyIf?: string): string {
  const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => `$${first + i}`);
  return `INSERT INTO outbox (event_id, topic, message_key, value, headers)
     SELECT e.id, e.topic, e.key, e.value, e.headers
       FROM unnest(${a}::uuid[], ${b}::text[], ${c}::text[], ${d}::text[], ${e}::jsonb[]) WITH ORDINALITY AS e(id, topic, key, value, headers, n)
      ${onlyIf ? `WHERE ${onlyIf}` : ''}
      ORDER BY e.n`;
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
  await markOutboxWritten(manager);
}
