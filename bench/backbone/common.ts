/**
 * Shared pieces of the backbone benchmark: the database layout, the event every writer appends,
 * and the Kafka client wrapper that publishes the registry topic under a private bench topic.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Kafka, Producer, ProducerBatch, ProducerRecord } from 'kafkajs';
import { DataSource } from 'typeorm';
import { TOPICS, type EventPayload } from '@admit/contracts';

export const BENCH_DB = 'admit_bench_backbone';
export const PG_BASE = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432';
export const BENCH_DB_URL = `${PG_BASE}/${BENCH_DB}`;
export const KAFKA_BROKERS = (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(',');

/** The event type every bench writer appends; it travels on `tickets` (6 partitions). */
export const EVENT_TYPE = 'ticket.voided' as const;
export const SOURCE_TOPIC = TOPICS.tickets.name;
export const PARTITIONS = TOPICS.tickets.partitions;
export const MERCHANT = 'mch_bench_backbone';

/** Producer-side effect (the "state change" of the writer) and consumer-side effect tables. */
export const BENCH_TABLES = [
  `CREATE TABLE bench_source (
     id bigserial PRIMARY KEY,
     aggregate_id text NOT NULL,
     seq int NOT NULL,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp()
   )`,
  `CREATE TABLE bench_effect (
     id bigserial PRIMARY KEY,
     event_id uuid NOT NULL,
     aggregate_id text NOT NULL,
     seq int NOT NULL,
     occurred_at timestamptz NOT NULL,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp()
   )`,
];

export function payloadFor(aggregateId: string, seq: number): EventPayload<typeof EVENT_TYPE> {
  return {
    ticketId: `tkt_${aggregateId}_${seq}`,
    orderId: aggregateId,
    merchantId: MERCHANT,
    reason: `seq:${seq}`,
    voidedAt: new Date().toISOString(),
  };
}

export function benchDataSource(poolSize: number): DataSource {
  return new DataSource({
    type: 'postgres',
    url: BENCH_DB_URL,
    synchronize: false,
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
  });
}

/**
 * A Kafka client whose producers publish topic `from` as `to`. Only the topic string of each
 * send changes; the relay's producer options (partitioner, idempotence, acks) are its own. This
 * keeps benchmark traffic off the shared `tickets` topic.
 */
export function aliasedKafka(kafka: Kafka, from: string, to: string): Kafka {
  const rename = (t: string): string => (t === from ? to : t);
  return new Proxy(kafka, {
    get(target, prop, receiver) {
      if (prop !== 'producer') return Reflect.get(target, prop, receiver) as unknown;
      return (...args: Parameters<Kafka['producer']>): Producer => {
        const producer = target.producer(...args);
        const send = producer.send.bind(producer);
        const sendBatch = producer.sendBatch.bind(producer);
        producer.send = (r: ProducerRecord) => send({ ...r, topic: rename(r.topic) });
        producer.sendBatch = (b: ProducerBatch) =>
          sendBatch({ ...b, topicMessages: (b.topicMessages ?? []).map((tm) => ({ ...tm, topic: rename(tm.topic) })) });
        return producer;
      };
    },
  });
}

/** The repository root (the directory of the `admit` package.json), from src or dist. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'admit') return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(__dirname, '../../..');
    dir = up;
  }
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; processed: number }
  | {
      type: 'final';
      processed: number;
      duplicates: number;
      /** the library histogram: events observed within 100 ms, and all observed */
      within100ms: number;
      total: number;
      /** per event since the last reset-latency: [occurredAt epoch ms, occurredAt → inbox COMMIT returned in ms] */
      commitLatencies: [number, number][];
    }
  | { type: 'error'; error: string };

export type ParentMessage = { type: 'stop' } | { type: 'reset-latency' };
