import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import {
  dlqTopic,
  envelopeSchema,
  HEADERS,
  payloadSchema,
  type Envelope,
  type EventPayload,
  type EventType,
} from '@admit/contracts';
import { runInFlow } from './context';
import type { Logger } from './logger';
import type { MessagingMetrics } from './metrics';
import { appendRawToOutbox } from './outbox-writer';
import { preparedQuery } from './prepared';

/** What a handler gets: the transaction of its inbox row, and the event. */
export type HandlerContext<T extends EventType> = {
  manager: EntityManager;
  envelope: Envelope<EventPayload<T>>;
  topic: string;
  partition: number;
  offset: string;
};

export type EventHandler<T extends EventType> = (payload: EventPayload<T>, ctx: HandlerContext<T>) => Promise<void>;
export type HandlerMap = { [T in EventType]?: EventHandler<T> };

/** One event of a batch: what a single handler would get, minus the manager (shared). */
export type BatchEvent<T extends EventType> = {
  payload: EventPayload<T>;
  envelope: Envelope<EventPayload<T>>;
  offset: string;
};
/**
 * Handles consecutive events of one type of one chunk with set-based SQL, in the chunk's
 * transaction. It must have exactly the effect of running the type's single-event handler on
 * each event in the given order (the single handler stays the reference: it runs when a batch
 * fails, one event per savepoint, to find and retry or dead-letter the culprit).
 */
export type BatchHandler<T extends EventType> = (
  events: BatchEvent<T>[],
  ctx: { manager: EntityManager; topic: string; partition: number },
) => Promise<void>;
export type BatchHandlerMap = { [T in EventType]?: BatchHandler<T> };

export type EventConsumerOptions = {
  kafka: Kafka;
  dataSource: DataSource;
  /** The consumer group: one per service (e.g. `ticketing`). Also the inbox's consumer column. */
  groupId: string;
  topics: string[];
  handlers: HandlerMap;
  /**
   * Optional set-based handlers, used on the fast path for runs of consecutive new events of one
   * type. Every type listed here must also be in `handlers`.
   */
  batchHandlers?: BatchHandlerMap;
  logger: Logger;
  metrics: MessagingMetrics;
  /** Attempts of a failing handler before the event goes to the dead-letter topic. */
  maxAttempts?: number;
  /** Max events per inbox transaction. */
  chunkSize?: number;
  partitionsConsumedConcurrently?: number;
  sessionTimeoutMs?: number;
  fromBeginning?: boolean;
  /** Max bytes of one fetch response (default 4 MB; a partition gets at most 1 MB of it). */
  maxFetchBytes?: number;
};

type Decoded =
  | { kind: 'event'; envelope: Envelope; handler: EventHandler<EventType>; batch?: BatchHandler<EventType> }
  | { kind: 'ignored'; type: string }
  | { kind: 'invalid'; error: string; eventId: string | null; type: string };

/** An error that means the database or the connection is unusable: retry the whole batch later. */
function isInfrastructureError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; driverError?: { code?: string } } | null;
  const code = e?.code ?? e?.driverError?.code;
  if (typeof code === 'string') {
    if (/^(08|53|57|58|XX)/.test(code)) return true; // connection, resources, operator intervention, system
    if (code === '25P02') return true; // transaction aborted: the savepoint logic failed, redo the batch
    if (/^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, ...
  }
  const msg = e?.message ?? '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|ECONNREFUSED/i.test(
    msg,
  );
}

/**
 * The idempotent consumer. For each batch from one partition it opens one transaction per
 * chunk, and for each event inserts the inbox row and runs the handler in that transaction.
 * A redelivered event finds its inbox row and is skipped. Offsets are committed only after the
 * transaction committed. A handler that keeps failing (maxAttempts) sends the event to
 * `<topic>.dlq` through the outbox, in the same transaction that records it as dead-lettered, so
 * the partition moves on and nothing is lost. An event that fails its schema goes to the DLQ at
 * once. Infrastructure errors (database down) retry the batch without committing.
 */
export class EventConsumer {
  private consumer: Consumer | null = null;
  private admin: Admin | null = null;
  private lagTimer: NodeJS.Timeout | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  /** The latest batch's payload: its commit functions act on the consumer group, not the batch. */
  private lastPayload: EachBatchPayload | null = null;
  private readonly maxAttempts: number;
  private stopping = false;

  constructor(private readonly o: EventConsumerOptions) {
    this.maxAttempts = o.maxAttempts ?? 5;
    for (const type of Object.keys(o.batchHandlers ?? {}) as EventType[]) {
      if (!o.handlers[type]) throw new Error(`batch handler for ${type} without a single-event handler`);
    }
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.runConsumer();
    this.commitTimer = setInterval(() => void this.flushOffsets(), 1000);
    this.commitTimer.unref();
    this.admin = this.o.kafka.admin();
    await this.admin.connect();
    this.lagTimer = setInterval(() => void this.measureLag(), 5000);
    this.lagTimer.unref();
  }

  private async runConsumer(): Promise<void> {
    const consumer = this.o.kafka.consumer({
      groupId: this.o.groupId,
      sessionTimeout: this.o.sessionTimeoutMs ?? 30000,
      heartbeatInterval: 3000,
      allowAutoTopicCreation: false,
      // kafkajs defaults are 10 MB per fetch and 1 MB per partition: a backlog then arrives as
      // tens of thousands of decoded records at once, which costs memory (RSS budget of 256 MB
      // per service) and buys nothing, as a chunk transaction takes at most chunkSize events.
      maxBytes: this.o.maxFetchBytes ?? 4 * 1024 * 1024,
      maxBytesPerPartition: Math.min(this.o.maxFetchBytes ?? 4 * 1024 * 1024, 1024 * 1024),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    this.consumer = consumer;
    // kafkajs restarts its consumer after a retriable crash, but gives up for good after one it
    // does not know to be retriable, such as "Broker not connected" while the broker comes back
    // from a restart (seen in the fault e2e test: reporting stopped consuming for good). Such a
    // consumer is replaced by a new one of the same group.
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart || this.stopping || this.consumer !== consumer) return;
      this.o.logger.error({ err: e.payload.error, group: this.o.groupId }, 'consumer crashed for good; replacing it');
      void this.replaceConsumer(consumer);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.o.topics, fromBeginning: this.o.fromBeginning ?? true });
    // Offsets are committed by this class, at most once a second (plus a flush when idle and on
    // stop): kafkajs's autoCommit commits after *every* batch in eachBatch mode whatever the
    // interval, and those sequential OffsetCommit round trips were most of the consumer's latency
    // (a probe at 700 events/s: p50 20 ms with them, one fetch per ~40 ms). A commit lost in a
    // crash only redelivers events the inbox already holds.
    await consumer.run({
      autoCommit: false,
      autoCommitInterval: 1000,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.o.partitionsConsumedConcurrently ?? 6,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** A new kafkajs consumer for the group, retried with backoff until one runs (or `stop`). */
  private async replaceConsumer(dead: Consumer): Promise<void> {
    this.o.metrics.consumerRestarts.inc({ group: this.o.groupId });
    this.lastPayload = null; // its commit functions belong to the dead consumer
    await dead.disconnect().catch(() => undefined);
    for (let wait = 1000; !this.stopping; wait = Math.min(wait * 2, 30_000)) {
      await sleep(wait);
      if (this.stopping) return;
      try {
        await this.runConsumer();
        this.o.logger.info({ group: this.o.groupId }, 'consumer replaced');
        return;
      } catch (err) {
        this.o.logger.warn({ err, group: this.o.groupId }, 'consumer could not start yet; retrying');
        await this.consumer?.disconnect().catch(() => undefined);
      }
    }
  }

  /** Commits every processed (resolved) offset not committed yet. */
  private async flushOffsets(): Promise<void> {
    const p = this.lastPayload;
    if (!p) return;
    try {
      const pending = p.uncommittedOffsets();
      if (pending.topics.length > 0) await p.commitOffsetsIfNecessary(pending);
    } catch (err) {
      // a rebalance in progress or a broker away: the next flush or batch commits them
      this.o.logger.debug({ err }, 'offset commit failed; retried with the next one');
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    if (this.commitTimer) clearInterval(this.commitTimer);
    await this.flushOffsets();
    await this.consumer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }

  private decode(message: KafkaMessage): Decoded {
    const headerType = message.headers?.[HEADERS.eventType]?.toString() ?? 'unknown';
    let json: unknown;
    try {
      json = JSON.parse(message.value?.toString('utf8') ?? '');
    } catch {
      return { kind: 'invalid', error: 'value is not JSON', eventId: null, type: headerType };
    }
    const env = envelopeSchema.safeParse(json);
    if (!env.success) {
      const id = (json as { eventId?: unknown } | null)?.eventId;
      return {
        kind: 'invalid',
        error: `envelope: ${env.error.message}`,
        eventId: typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id) ? id : null,
        type: headerType,
      };
    }
    const handler = this.o.handlers[env.data.type as EventType] as EventHandler<EventType> | undefined;
    if (!handler) return { kind: 'ignored', type: env.data.type };
    const schema = payloadSchema(env.data.type, env.data.schemaVersion);
    if (!schema) {
      return {
        kind: 'invalid',
        error: `unknown schema ${env.data.type} v${env.data.schemaVersion}`,
        eventId: env.data.eventId,
        type: env.data.type,
      };
    }
    const payload = schema.safeParse(env.data.payload);
    if (!payload.success) {
      return {
        kind: 'invalid',
        error: `payload: ${payload.error.message}`,
        eventId: env.data.eventId,
        type: env.data.type,
      };
    }
    const batch = this.o.batchHandlers?.[env.data.type as EventType] as BatchHandler<EventType> | undefined;
    return { kind: 'event', envelope: { ...env.data, payload: payload.data }, handler, ...(batch ? { batch } : {}) };
  }

  private async onBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    this.lastPayload = p;
    const chunkSize = this.o.chunkSize ?? 200;
    for (let i = 0; i < batch.messages.length; i += chunkSize) {
      if (!p.isRunning() || p.isStale()) return;
      const chunk = batch.messages.slice(i, i + chunkSize);
      await this.processChunk(batch.topic, batch.partition, chunk);
      const last = chunk[chunk.length - 1];
      if (last) p.resolveOffset(last.offset);
      await p.commitOffsetsIfNecessary();
      await p.heartbeat();
    }
  }

  /**
   * Fast path: the whole chunk in one transaction, its inbox rows claimed with one statement.
   * On a handler error, redo the chunk carefully (a savepoint per event, bounded retries).
   */
  private async processChunk(topic: string, partition: number, messages: KafkaMessage[]): Promise<void> {
    const decoded = messages.map((m) => ({ message: m, d: this.decode(m) }));
    let failedEventId: string | null = null;
    try {
      await this.inTransaction(async (qr) => {
        const claimed = await this.claimChunk(qr, topic, partition, decoded);
        let run: { message: KafkaMessage; d: Extract<Decoded, { kind: 'event' }> }[] = [];
        for (const { message, d } of decoded) {
          const batchable = d.kind === 'event' && d.batch !== undefined && claimed.has(message);
          if (run.length > 0 && (!batchable || run[0]?.d.envelope.type !== d.envelope.type)) {
            await this.applyBatch(qr, topic, partition, run);
            run = [];
          }
          if (batchable) run.push({ message, d });
          else await this.apply(qr, topic, partition, message, d, { claimed });
        }
        if (run.length > 0) await this.applyBatch(qr, topic, partition, run);
      });
      this.o.metrics.consumerTransactionEvents.observe(decoded.length);
      this.observe(topic, decoded);
      return;
    } catch (err) {
      if (!(err instanceof HandlerFailed)) throw err;
      failedEventId = err.eventId;
    }
    await this.inTransaction(async (qr) => {
      for (const { message, d } of decoded) {
        const failedBefore = d.kind === 'event' && d.envelope.eventId === failedEventId ? 1 : 0;
        await this.apply(qr, topic, partition, message, d, { failedBefore });
      }
    });
    this.o.metrics.consumerTransactionEvents.observe(decoded.length);
    this.observe(topic, decoded);
  }

  /**
   * Inserts the inbox rows of every event of the chunk in one statement. Returns the messages
   * whose row this transaction claimed: new ones, and dead-lettered ones coming back (replay).
   * An event id twice in one chunk (a republished record) is claimed by its first occurrence.
   */
  private async claimChunk(
    qr: QueryRunner,
    topic: string,
    partition: number,
    decoded: { message: KafkaMessage; d: Decoded }[],
  ): Promise<WeakSet<KafkaMessage>> {
    const first = new Map<string, { message: KafkaMessage; type: string }>();
    for (const { message, d } of decoded) {
      if (d.kind !== 'event') continue;
      const id = d.envelope.eventId.toLowerCase();
      if (!first.has(id)) first.set(id, { message, type: d.envelope.type });
    }
    const claimed = new WeakSet<KafkaMessage>();
    if (first.size === 0) return claimed;
    const ids = [...first.keys()];
    const rows = await preparedQuery<{ id: string }>(
      qr,
      'admit_inbox_claim',
      `INSERT INTO inbox (consumer_group, event_id, event_type, topic, kafka_partition, kafka_offset, status, attempts)
       SELECT $1, e.id, e.type, $2, $3, e.off, 'processed', 1
         FROM unnest($4::uuid[], $5::text[], $6::bigint[]) AS e(id, type, off)
       ON CONFLICT (consumer_group, event_id) DO UPDATE
         SET status = 'processed', attempts = inbox.attempts + 1, error = NULL,
             kafka_partition = EXCLUDED.kafka_partition, kafka_offset = EXCLUDED.kafka_offset, processed_at = clock_timestamp()
         WHERE inbox.status = 'dead_lettered'
       RETURNING event_id::text AS id`,
      [
        this.o.groupId,
        topic,
        partition,
        ids,
        ids.map((id) => first.get(id)?.type ?? ''),
        ids.map((id) => first.get(id)?.message.offset ?? '0'),
      ],
    );
    for (const r of rows) {
      const hit = first.get(r.id.toLowerCase());
      if (hit) claimed.add(hit.message);
    }
    return claimed;
  }

  private readonly outcomes = new WeakMap<KafkaMessage, string>();

  private observe(topic: string, decoded: { message: KafkaMessage; d: Decoded }[]): void {
    const now = Date.now();
    for (const { message, d } of decoded) {
      const outcome = this.outcomes.get(message) ?? 'processed';
      const type = d.kind === 'event' ? d.envelope.type : d.type;
      this.o.metrics.consumed.inc({ topic, type, outcome });
      if (outcome === 'dead_lettered') this.o.metrics.deadLettered.inc({ topic, type });
      if (d.kind === 'event' && outcome === 'processed') {
        this.o.metrics.commitToConsumeSeconds.observe({ topic }, (now - Date.parse(d.envelope.occurredAt)) / 1000);
      }
    }
  }

  private async inTransaction(fn: (qr: QueryRunner) => Promise<void>): Promise<void> {
    const qr = this.o.dataSource.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      await fn(qr);
      await qr.commitTransaction();
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await qr.release();
    }
  }

  /** Runs the batch handler of a run of claimed events of one type (fast path only). */
  private async applyBatch(
    qr: QueryRunner,
    topic: string,
    partition: number,
    run: { message: KafkaMessage; d: Extract<Decoded, { kind: 'event' }> }[],
  ): Promise<void> {
    const first = run[0];
    if (!first) return;
    const type = first.d.envelope.type;
    const handler = first.d.batch;
    if (!handler) throw new Error(`no batch handler for ${type}`);
    const flow = {
      correlationId: first.d.envelope.correlationId,
      causationId: first.d.envelope.eventId,
      requestId: null,
    };
    const started = process.hrtime.bigint();
    try {
      await runInFlow(flow, () =>
        handler(
          run.map(({ message, d }) => ({
            payload: d.envelope.payload as never,
            envelope: d.envelope as Envelope<never>,
            offset: message.offset,
          })),
          { manager: qr.manager, topic, partition },
        ),
      );
    } catch (err) {
      if (isInfrastructureError(err)) throw err;
      // Which event failed is unknown: the careful path finds it with the single handlers.
      throw new HandlerFailed(err, null);
    }
    this.o.metrics.handlerSeconds.observe({ type }, Number(process.hrtime.bigint() - started) / 1e9 / run.length);
    for (const { message } of run) this.outcomes.set(message, 'processed');
  }

  private async apply(
    qr: QueryRunner,
    topic: string,
    partition: number,
    message: KafkaMessage,
    d: Decoded,
    mode: { claimed: WeakSet<KafkaMessage> } | { failedBefore: number },
  ): Promise<void> {
    const careful = !('claimed' in mode);
    if (d.kind === 'ignored') {
      this.outcomes.set(message, 'ignored');
      return;
    }
    if (d.kind === 'invalid') {
      await this.deadLetter(qr, topic, partition, message, d.eventId, d.type, d.error, 0);
      this.outcomes.set(message, 'dead_lettered');
      return;
    }
    const env = d.envelope;
    const flow = { correlationId: env.correlationId, causationId: env.eventId, requestId: null };
    let attempt = 'failedBefore' in mode ? mode.failedBefore : 0;
    for (;;) {
      attempt += 1;
      if (careful) await qr.query('SAVEPOINT evt');
      try {
        if ('claimed' in mode) {
          if (!mode.claimed.has(message)) {
            this.outcomes.set(message, 'duplicate');
            return;
          }
        } else {
          const claimed = (await qr.query(
            `INSERT INTO inbox (consumer_group, event_id, event_type, topic, kafka_partition, kafka_offset, status, attempts)
           VALUES ($1, $2, $3, $4, $5, $6, 'processed', $7)
           ON CONFLICT (consumer_group, event_id) DO UPDATE
             SET status = 'processed', attempts = inbox.attempts + EXCLUDED.attempts, error = NULL,
                 kafka_partition = EXCLUDED.kafka_partition, kafka_offset = EXCLUDED.kafka_offset, processed_at = clock_timestamp()
             WHERE inbox.status = 'dead_lettered'
           RETURNING 1`,
            [this.o.groupId, env.eventId, env.type, topic, partition, message.offset, attempt],
          )) as unknown[];
          if (claimed.length === 0) {
            await qr.query('RELEASE SAVEPOINT evt');
            this.outcomes.set(message, 'duplicate');
            return;
          }
        }
        const started = process.hrtime.bigint();
        await runInFlow(flow, () =>
          d.handler(env.payload as never, {
            manager: qr.manager,
            envelope: env as Envelope<never>,
            topic,
            partition,
            offset: message.offset,
          }),
        );
        this.o.metrics.handlerSeconds.observe({ type: env.type }, Number(process.hrtime.bigint() - started) / 1e9);
        if (careful) await qr.query('RELEASE SAVEPOINT evt');
        this.outcomes.set(message, 'processed');
        return;
      } catch (err) {
        if (isInfrastructureError(err)) throw err;
        if (!careful) throw new HandlerFailed(err, env.eventId);
        await qr.query('ROLLBACK TO SAVEPOINT evt');
        const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        this.o.logger.warn({ err, eventId: env.eventId, type: env.type, attempt }, 'event handler failed');
        if (attempt >= this.maxAttempts) {
          await this.deadLetter(qr, topic, partition, message, env.eventId, env.type, reason, attempt);
          this.outcomes.set(message, 'dead_lettered');
          return;
        }
        await sleep(Math.min(50 * 2 ** attempt, 1000));
      }
    }
  }

  private async deadLetter(
    qr: QueryRunner,
    topic: string,
    partition: number,
    message: KafkaMessage,
    eventId: string | null,
    type: string,
    error: string,
    attempts: number,
  ): Promise<void> {
    // PostgreSQL text/jsonb cannot hold NUL: a record carrying one (never valid JSON) would
    // fail these inserts and block its partition forever. Such bytes are replaced, and flagged.
    let sanitized = false;
    const clean = (text: string) => {
      if (!text.includes('\u0000')) return text;
      sanitized = true;
      return text.replaceAll('\u0000', '\uFFFD');
    };
    error = clean(error);
    type = clean(type);
    this.o.logger.error({ topic, partition, offset: message.offset, eventId, type, error }, 'event dead-lettered');
    if (eventId) {
      await qr.query(
        `INSERT INTO inbox (consumer_group, event_id, event_type, topic, kafka_partition, kafka_offset, status, attempts, error)
         VALUES ($1, $2, $3, $4, $5, $6, 'dead_lettered', $7, $8)
         ON CONFLICT (consumer_group, event_id) DO UPDATE
           SET status = 'dead_lettered', attempts = inbox.attempts + EXCLUDED.attempts, error = EXCLUDED.error
           WHERE inbox.status = 'dead_lettered'`,
        [this.o.groupId, eventId, type, topic, partition, message.offset, attempts, error.slice(0, 4000)],
      );
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers ?? {})) {
      if (v !== undefined && !k.startsWith('dlq-')) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
    }
    headers[HEADERS.dlqError] = error.slice(0, 4000);
    headers[HEADERS.dlqSourceTopic] = topic;
    headers[HEADERS.dlqSourcePartition] = String(partition);
    headers[HEADERS.dlqSourceOffset] = message.offset;
    headers[HEADERS.dlqConsumerGroup] = this.o.groupId;
    headers[HEADERS.dlqAttempts] = String(attempts);
    const safeHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [clean(k), clean(v)]));
    const key = clean(message.key?.toString('utf8') ?? '');
    const value = clean(message.value?.toString('utf8') ?? '');
    if (sanitized) safeHeaders['dlq-sanitized'] = 'NUL bytes replaced by U+FFFD';
    await appendRawToOutbox(qr.manager, { topic: dlqTopic(topic), key, value, headers: safeHeaders, eventId });
  }

  private async measureLag(): Promise<void> {
    const admin = this.admin;
    if (!admin) return;
    try {
      const committed = await admin.fetchOffsets({ groupId: this.o.groupId, topics: this.o.topics });
      for (const t of committed) {
        const ends = await admin.fetchTopicOffsets(t.topic);
        for (const p of t.partitions) {
          const end = ends.find((e) => e.partition === p.partition);
          if (!end) continue;
          const high = Number(end.high);
          const done = Number(p.offset) < 0 ? Number(end.low) : Number(p.offset);
          this.o.metrics.consumerLag.set(
            { group: this.o.groupId, topic: t.topic, partition: String(p.partition) },
            Math.max(0, high - done),
          );
        }
      }
    } catch (err) {
      this.o.logger.debug({ err }, 'lag measurement failed; reconnecting the admin client');
      // A kafkajs admin whose broker died cannot reconnect (kafkajs#1617): use a new one.
      await admin.disconnect().catch(() => undefined);
      this.admin = this.o.kafka.admin();
      await this.admin.connect().catch(() => undefined);
    }
  }
}

class HandlerFailed extends Error {
  constructor(
    readonly original: unknown,
    readonly eventId: string | null,
  ) {
    super('handler failed');
    this.name = 'HandlerFailed';
  }
}
