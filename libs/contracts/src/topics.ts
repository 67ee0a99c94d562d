/**
 * Kafka topics: one per aggregate stream, keyed by aggregate id so all events of one aggregate
 * stay on one partition, in order. Each topic has a dead-letter topic `<name>.dlq` (1 partition)
 * that receives events a consumer could not process after bounded retries.
 */
export const TOPICS = {
  /** merchants and their API keys; key = merchant id. */
  merchants: { name: 'merchants', partitions: 3 },
  /** payments and their refunds; key = payment id. */
  payments: { name: 'payments', partitions: 6 },
  /** orders; key = order id. */
  orders: { name: 'orders', partitions: 6 },
  /** tickets issued and voided, per order; key = order id. */
  tickets: { name: 'tickets', partitions: 6 },
  /** coupons: reservation answers keyed by order id, lifecycle facts keyed by coupon id. */
  coupons: { name: 'coupons', partitions: 6 },
  /** gate scans; key = ticket id. */
  scans: { name: 'scans', partitions: 6 },
  /** attractions and products (catalogue facts other services need); key = attraction id. */
  catalog: { name: 'catalog', partitions: 3 },
  /** reporting: reconciliation differences for acquirer operations; key = reconciliation id. */
  reconciliations: { name: 'reconciliations', partitions: 3 },
} as const;

export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey]['name'];

export const DLQ_SUFFIX = '.dlq';
export const DLQ_PARTITIONS = 1;

export function dlqTopic(topic: string): string {
  return `${topic}${DLQ_SUFFIX}`;
}

/** Every topic and its DLQ, as the admin client creates them at service start. */
export function allTopicSpecs(): { topic: string; numPartitions: number }[] {
  return Object.values(TOPICS).flatMap((t) => [
    { topic: t.name, numPartitions: t.partitions },
    { topic: dlqTopic(t.name), numPartitions: DLQ_PARTITIONS },
  ]);
}

/** Kafka header names carried by every event. */
export const HEADERS = {
  eventId: 'event-id',
  eventType: 'event-type',
  schemaVersion: 'schema-version',
  correlationId: 'correlation-id',
  causationId: 'causation-id',
  /** On dead-letter records: why, where from, how many attempts. */
  dlqError: 'dlq-error',
  dlqSourceTopic: 'dlq-source-topic',
  dlqSourcePartition: 'dlq-source-partition',
  dlqSourceOffset: 'dlq-source-offset',
  dlqConsumerGroup: 'dlq-consumer-group',
  dlqAttempts: 'dlq-attempts',
} as const;
