/**
 * Shared fixtures of the messaging integration tests: a throwaway PostgreSQL database per test
 * file (messaging tables + a test aggregate and effect table), private Kafka topics per test,
 * writers that follow the outbox contract (lock the aggregate row, then append), a consumer
 * whose handler records one effect row per event, and readers of raw topics.
 *
 * Isolation: the outbox writes `ticket.voided` to the registry topic (`tickets`). The relay under
 * test gets a Kafka client whose producers publish `tickets` under a per-test topic name (same
 * partition count, same producer settings: only the topic string of each send is renamed), so
 * the tests neither read nor pollute the shared Admit topics, and dead-letter topics
 * (`<test topic>.dlq`) and the DLQ replay group (`dlq-replay.<dlq topic>`) are private too.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka, KafkaMessage, Producer, ProducerBatch, ProducerRecord } from 'kafkajs';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { DataSource, type QueryRunner } from 'typeorm';
import { dlqTopic, TOPICS, type Envelope } from '@admit/contracts';
import {
  appendToOutbox,
  createKafka,
  createLogger,
  createMessagingTables,
  upgradeMessagingTables,
  EventConsumer,
  messagingMetrics,
  OutboxRelay,
  PARTITIONER,
  type EventConsumerOptions,
  type Logger,
  type MessagingMetrics,
} from '../src';

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const brokers = (): string[] => (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');
export const logger: Logger = createLogger('it-messaging', process.env['IT_LOG_LEVEL'] ?? 'silent');
export const uid = (): string => randomBytes(4).toString('hex');

/** The registry topic of the events the tests write (`ticket.voided`). */
export const SOURCE_TOPIC = TOPICS.tickets.name;

/** A list of undo steps run after each test, last first (failures ignored). Call inside describe. */
export function cleanupAfterEach(): (() => Promise<unknown>)[] {
  const steps: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (steps.length > 0)
      await steps
        .pop()?.()
        .catch(() => undefined);
  });
  return steps;
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(everyMs);
  }
}

// ------------------------------------------------------------------------------ database

export type TestDb = { name: string; url: string; ds: DataSource; drop(): Promise<void> };

const TEST_TABLES = [
  `CREATE TABLE it_aggregate (id text PRIMARY KEY, seq int NOT NULL DEFAULT 0)`,
  // no unique constraint on event_id on purpose: a second effect must be visible, not an error
  `CREATE TABLE it_effect (
     id bigserial PRIMARY KEY,
     consumer_group text NOT NULL,
     event_id uuid NOT NULL,
     aggregate_id text NOT NULL,
     seq int NOT NULL,
     kafka_partition int NOT NULL,
     kafka_offset bigint NOT NULL,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp()
   )`,
];

export async function createTestDb(prefix = 'admit_it_messaging'): Promise<TestDb> {
  const name = `${prefix}_${uid()}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = `postgres://postgres@127.0.0.1:5432/${name}`;
  const ds = new DataSource({
    type: 'postgres',
    url,
    synchronize: false,
    extra: { max: 12, connectionTimeoutMillis: 5000 },
  });
  await ds.initialize();
  const qr = ds.createQueryRunner();
  try {
    await createMessagingTables(qr);
    await upgradeMessagingTables(qr);
    for (const sql of TEST_TABLES) await qr.query(sql);
  } finally {
    await qr.release();
  }
  return {
    name,
    url,
    ds,
    drop: async () => {
      if (ds.isInitialized) await ds.destroy();
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

// ------------------------------------------------------------------------------ kafka

export function newKafka(clientId = `it-messaging-${uid()}`): Kafka {
  return createKafka({ brokers: brokers(), clientId }, logger);
}

export type TestTopic = { name: string; dlq: string; partitions: number; remove(): Promise<void> };

/** A private topic with the partition count of `tickets`, and its one-partition dead-letter topic. */
export async function createTestTopic(
  kafka: Kafka,
  partitions: number = TOPICS.tickets.partitions,
): Promise<TestTopic> {
  const name = `it.messaging.${uid()}.tickets`;
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: name, numPartitions: partitions, replicationFactor: 1 },
        { topic: dlqTopic(name), numPartitions: 1, replicationFactor: 1 },
      ],
    });
  } finally {
    await admin.disconnect();
  }
  return {
    name,
    dlq: dlqTopic(name),
    partitions,
    remove: async () => {
      const a = kafka.admin();
      await a.connect();
      try {
        await a.deleteTopics({ topics: [name, dlqTopic(name)] });
      } catch {
        // best effort
      } finally {
        await a.disconnect();
      }
    },
  };
}

export type SendObserver = (relay: string, run: () => Promise<unknown>) => Promise<unknown>;

/**
 * A Kafka client for a relay: producers rename the topics in `aliases` on every send (nothing
 * else changes: the relay's own producer options, partitioner, acks and idempotence are kept).
 * `observe` wraps each send (to measure concurrency or slow sends down).
 */
export function relayKafka(
  kafka: Kafka,
  aliases: Record<string, string>,
  label = 'relay',
  observe?: SendObserver,
): Kafka {
  const rename = (t: string): string => aliases[t] ?? t;
  const around = <T>(run: () => Promise<T>): Promise<T> => (observe ? (observe(label, run) as Promise<T>) : run());
  return new Proxy(kafka, {
    get(target, prop, receiver) {
      if (prop === 'producer') {
        return (...args: Parameters<Kafka['producer']>): Producer => {
          const producer = target.producer(...args);
          const send = producer.send.bind(producer);
          const sendBatch = producer.sendBatch.bind(producer);
          producer.send = (record: ProducerRecord) => around(() => send({ ...record, topic: rename(record.topic) }));
          producer.sendBatch = (batch: ProducerBatch) =>
            around(() =>
              sendBatch({
                ...batch,
                topicMessages: (batch.topicMessages ?? []).map((tm) => ({ ...tm, topic: rename(tm.topic) })),
              }),
            );
          return producer;
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

/** Reads `topic` from the beginning with a throwaway group until `enough(messages)` holds. */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  enough: (messages: { partition: number; message: KafkaMessage }[]) => boolean,
  timeoutMs = 20_000,
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const consumer = kafka.consumer({
    groupId: `it-reader-${uid()}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 250,
  });
  const seen: { partition: number; message: KafkaMessage }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        seen.push({ partition, message });
      },
    });
    await waitFor(`records on ${topic}`, async () => enough(seen), timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

/** Every record currently on `topic` (reads up to the end offsets taken now). */
export async function readAll(kafka: Kafka, topic: string): Promise<{ partition: number; message: KafkaMessage }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = ends.reduce((n, e) => n + Number(e.high) - Number(e.low), 0);
  if (total === 0) return [];
  return readTopic(kafka, topic, (m) => m.length >= total);
}

export function header(message: KafkaMessage, name: string): string | undefined {
  const v = message.headers?.[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v[0] : v)?.toString();
}

/** A plain producer on the same partitioner as the relay (for raw / malformed records). */
export async function rawProducer(kafka: Kafka): Promise<Producer> {
  const p = kafka.producer({
    createPartitioner: PARTITIONER,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await p.connect();
  return p;
}

// ------------------------------------------------------------------------------ writers

/**
 * One producer transaction that follows the outbox contract: lock the aggregate row (the seq
 * bump), then append `count` events for it. `reason` carries `seq:<n>`, which the handler
 * records; `ticketId` starting with `poison` makes the test handler fail.
 */
export async function writeEvents(
  ds: DataSource,
  merchantId: string,
  aggregateId: string,
  count = 1,
  opts: { poison?: boolean | string; rollback?: boolean; holdMs?: number } = {},
): Promise<Envelope[]> {
  const written: Envelope[] = [];
  const rollback = new Error('rollback requested');
  try {
    await ds.transaction(async (m) => {
      for (let i = 0; i < count; i++) {
        const [row] = (await m.query(
          `INSERT INTO it_aggregate (id, seq) VALUES ($1, 1)
           ON CONFLICT (id) DO UPDATE SET seq = it_aggregate.seq + 1 RETURNING seq`,
          [aggregateId],
        )) as { seq: number }[];
        const seq = row?.seq ?? 0;
        written.push(
          await appendToOutbox(m, {
            type: 'ticket.voided',
            aggregateId,
            merchantId,
            payload: {
              ticketId: `${typeof opts.poison === 'string' ? opts.poison : opts.poison ? 'poison' : 'tkt'}-${aggregateId}-${seq}`,
              orderId: aggregateId,
              merchantId,
              reason: `seq:${seq}`,
              voidedAt: new Date().toISOString(),
            },
          }),
        );
      }
      if (opts.holdMs) await sleep(opts.holdMs);
      if (opts.rollback) throw rollback;
    });
  } catch (err) {
    if (err !== rollback) throw err;
  }
  return written;
}

/**
 * `writers` concurrent loops writing `total` events over `aggregates`, 1-3 events per transaction,
 * each aggregate written by whichever writer picks it (the row lock orders them).
 */
export async function writeConcurrently(
  ds: DataSource,
  merchantId: string,
  aggregates: string[],
  total: number,
  writers = 4,
  pauseMs = 0,
): Promise<Envelope[]> {
  const all: Envelope[] = [];
  let remaining = total;
  let turn = 0;
  const loop = async (): Promise<void> => {
    while (remaining > 0) {
      const n = Math.min(remaining, 1 + (turn % 3));
      remaining -= n;
      const agg = aggregates[turn++ % aggregates.length] ?? 'none';
      all.push(...(await writeEvents(ds, merchantId, agg, n)));
      if (pauseMs > 0) await sleep(pauseMs);
    }
  };
  await Promise.all(Array.from({ length: writers }, loop));
  return all;
}

// ------------------------------------------------------------------------------ consumer

export type TestConsumer = {
  consumer: EventConsumer;
  group: string;
  registry: Registry;
  metrics: MessagingMetrics;
  /** handler calls per event id (including failed attempts) */
  calls: Map<string, number>;
  /** while `broken`, the handler throws for ticket ids starting with `poisonPrefix` */
  state: { broken: boolean; poisonPrefix: string };
  count(outcome: string): Promise<number>;
  stop(): Promise<void>;
};

/**
 * An EventConsumer for `ticket.voided` whose handler writes one it_effect row in the inbox
 * transaction. While `state.broken`, it throws for tickets whose id starts with
 * `state.poisonPrefix` (default `poison`).
 */
export async function startConsumer(
  kafka: Kafka,
  ds: DataSource,
  groupId: string,
  topics: string[],
  extra: Partial<EventConsumerOptions> = {},
): Promise<TestConsumer> {
  const registry = new Registry();
  const metrics = messagingMetrics(registry);
  const calls = new Map<string, number>();
  const state = { broken: true, poisonPrefix: 'poison' };
  const consumer = new EventConsumer({
    kafka,
    dataSource: ds,
    groupId,
    topics,
    logger,
    metrics,
    maxAttempts: 3,
    sessionTimeoutMs: 10_000,
    handlers: {
      'ticket.voided': async (payload, ctx) => {
        calls.set(ctx.envelope.eventId, (calls.get(ctx.envelope.eventId) ?? 0) + 1);
        if (state.broken && payload.ticketId.startsWith(state.poisonPrefix))
          throw new Error(`cannot handle ${payload.ticketId}`);
        const seq = Number(payload.reason.replace(/^seq:/, ''));
        await ctx.manager.query(
          `INSERT INTO it_effect (consumer_group, event_id, aggregate_id, seq, kafka_partition, kafka_offset) VALUES ($1, $2, $3, $4, $5, $6)`,
          [groupId, ctx.envelope.eventId, ctx.envelope.aggregateId, seq, ctx.partition, ctx.offset],
        );
      },
    },
    ...extra,
  });
  await consumer.start();
  return {
    consumer,
    group: groupId,
    registry,
    metrics,
    calls,
    state,
    count: async (outcome) => {
      const m = await metrics.consumed.get();
      return m.values.filter((v) => v.labels['outcome'] === outcome).reduce((n, v) => n + v.value, 0);
    },
    stop: () => consumer.stop(),
  };
}

// ------------------------------------------------------------------------------ relay

export function newRelay(
  db: TestDb,
  kafka: Kafka,
  o: {
    lockName?: string;
    dataSource?: DataSource;
    pollIntervalMs?: number;
    batchSize?: number;
    /** Default one day: tests find what was published in `outbox_published`. */
    keepPublishedMs?: number;
  } = {},
): OutboxRelay {
  return new OutboxRelay({
    dataSource: o.dataSource ?? db.ds,
    kafka,
    databaseUrl: db.url,
    logger,
    metrics: messagingMetrics(new Registry()),
    lockName: o.lockName ?? 'it-messaging',
    pollIntervalMs: o.pollIntervalMs ?? 200,
    keepPublishedMs: o.keepPublishedMs ?? 24 * 3600_000,
    ...(o.batchSize ? { batchSize: o.batchSize } : {}),
  });
}

/**
 * A DataSource whose query runners pass every statement to `intercept` first (which may throw,
 * e.g. to simulate a crash between the broker's ack and the outbox UPDATE).
 */
export function interceptingDataSource(ds: DataSource, intercept: (sql: string, result?: unknown) => void): DataSource {
  return new Proxy(ds, {
    get(target, prop) {
      if (prop === 'createQueryRunner') {
        return (): QueryRunner => {
          const qr = target.createQueryRunner();
          const query = qr.query.bind(qr) as (q: string, p?: unknown[]) => Promise<unknown>;
          qr.query = (async (q: string, p?: unknown[]) => {
            intercept(q);
            const result = await query(q, p);
            intercept(q, result);
            return result;
          }) as QueryRunner['query'];
          return qr;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

// ------------------------------------------------------------------------------ checks

export type EffectRow = { event_id: string; aggregate_id: string; seq: number; id: string };

export async function effects(ds: DataSource, groupId: string): Promise<EffectRow[]> {
  return (await ds.query(
    `SELECT id, event_id, aggregate_id, seq FROM it_effect WHERE consumer_group = $1 ORDER BY id`,
    [groupId],
  )) as EffectRow[];
}

/** Per aggregate, the seqs in the order the consumer applied them. */
export function seqsByAggregate(rows: EffectRow[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of rows) {
    const list = out.get(r.aggregate_id) ?? [];
    list.push(Number(r.seq));
    out.set(r.aggregate_id, list);
  }
  return out;
}

/** Expected per-aggregate sequences 1..n from what was written. */
export function expectedSeqs(written: Envelope[]): Map<string, number[]> {
  const counts = new Map<string, number>();
  for (const e of written) counts.set(e.aggregateId, (counts.get(e.aggregateId) ?? 0) + 1);
  return new Map([...counts].map(([a, n]) => [a, Array.from({ length: n }, (_, i) => i + 1)]));
}

export async function countWhere(ds: DataSource, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = (await ds.query(sql, params)) as { n: string | number }[];
  return Number(row?.n ?? 0);
}

export const newMerchant = (): string => `mch_it_${uid()}`;
export const newAggregates = (n: number): string[] =>
  Array.from({ length: n }, () => `ord_${randomUUID().slice(0, 13)}`);
