import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Messaging metrics, registered once per registry (one registry per service process). */
export type MessagingMetrics = {
  outboxBacklog: Gauge;
  outboxOldestAgeSeconds: Gauge;
  outboxPublished: Counter;
  outboxPublishErrors: Counter;
  outboxAbandoned: Counter;
  outboxCommitToPublishSeconds: Histogram;
  consumed: Counter;
  handlerSeconds: Histogram;
  deadLettered: Counter;
  consumerLag: Gauge;
  commitToConsumeSeconds: Histogram;
  consumerRestarts: Counter;
  consumerTransactionEvents: Histogram;
};

const cache = new WeakMap<Registry, MessagingMetrics>();

export function messagingMetrics(registry: Registry): MessagingMetrics {
  const hit = cache.get(registry);
  if (hit) return hit;
  const registers = [registry];
  const m: MessagingMetrics = {
    outboxBacklog: new Gauge({
      name: 'admit_outbox_backlog',
      help: 'Outbox rows not yet published to Kafka',
      registers,
    }),
    outboxOldestAgeSeconds: new Gauge({
      name: 'admit_outbox_oldest_age_seconds',
      help: 'Age of the oldest unpublished outbox row',
      registers,
    }),
    outboxPublished: new Counter({
      name: 'admit_outbox_published_total',
      help: 'Outbox rows published',
      labelNames: ['topic'],
      registers,
    }),
    outboxPublishErrors: new Counter({
      name: 'admit_outbox_publish_errors_total',
      help: 'Failed relay publish attempts',
      registers,
    }),
    outboxAbandoned: new Counter({
      name: 'admit_outbox_abandoned_total',
      help: 'Outbox rows abandoned after a non-retriable broker error',
      registers,
    }),
    outboxCommitToPublishSeconds: new Histogram({
      name: 'admit_outbox_commit_to_publish_seconds',
      help: 'Time from outbox insert to acknowledged publish',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    consumed: new Counter({
      name: 'admit_events_consumed_total',
      help: 'Events consumed, by outcome (processed, duplicate, ignored, dead_lettered)',
      labelNames: ['topic', 'type', 'outcome'],
      registers,
    }),
    handlerSeconds: new Histogram({
      name: 'admit_event_handler_seconds',
      help: 'Event handler time inside the inbox transaction',
      labelNames: ['type'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    deadLettered: new Counter({
      name: 'admit_dlq_events_total',
      help: 'Events sent to a dead-letter topic',
      labelNames: ['topic', 'type'],
      registers,
    }),
    consumerLag: new Gauge({
      name: 'admit_consumer_lag',
      help: 'Consumer group lag in records',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    }),
    commitToConsumeSeconds: new Histogram({
      name: 'admit_event_commit_to_consume_seconds',
      help: 'Time from the producing transaction (event occurredAt) to the consumer inbox commit',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    consumerRestarts: new Counter({
      name: 'admit_consumer_restarts_total',
      help: 'Kafka consumers replaced after a crash the client library would not recover from',
      labelNames: ['group'],
      registers,
    }),
    consumerTransactionEvents: new Histogram({
      name: 'admit_consumer_transaction_events',
      help: 'Events per committed consumer transaction (one chunk of one partition)',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
  };
  cache.set(registry, m);
  return m;
}
