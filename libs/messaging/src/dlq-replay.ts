import type { Kafka } from 'kafkajs';
import { DLQ_SUFFIX, HEADERS } from '@admit/contracts';
import type { Logger } from './logger';
import { PARTITIONER } from './kafka';

export type ReplayOptions = {
  kafka: Kafka;
  logger: Logger;
  /** The dead-letter topic to replay, e.g. `payments.dlq`. */
  dlqTopic: string;
  /** Only replay records dead-lettered by this consumer group (others are skipped). */
  consumerGroup?: string;
  /** Do not publish; only count and print what would be replayed. */
  dryRun?: boolean;
  /** Give up waiting for records after this long (ms). */
  idleTimeoutMs?: number;
};

export type ReplayResult = { replayed: number; skipped: number };

/**
 * Republishes dead-lettered records to the topic they came from, with their original key, value
 * and headers (the dlq-* ones removed). The replay group `dlq-replay.<dlq topic>[.<consumer group>]`
 * commits what it has read, so running the same command twice does not replay a record twice. Consumers that
 * already processed an event skip it (inbox); the group that dead-lettered it processes it now.
 * Fix the cause first (deploy the fix), then replay.
 */
export async function replayDeadLetters(o: ReplayOptions): Promise<ReplayResult> {
  if (!o.dlqTopic.endsWith(DLQ_SUFFIX)) throw new Error(`${o.dlqTopic} is not a dead-letter topic`);
  const admin = o.kafka.admin();
  await admin.connect();
  // One replay group per filter: a replay for one consumer group must not move the offsets of
  // another group's dead letters (they are skipped here, and replayed by their own run).
  const groupId = `dlq-replay.${o.dlqTopic}${o.consumerGroup ? `.${o.consumerGroup}` : ''}`;
  const ends = await admin.fetchTopicOffsets(o.dlqTopic);
  const committed = await admin.fetchOffsets({ groupId, topics: [o.dlqTopic] });
  await admin.disconnect();
  const remaining = new Map<number, bigint>();
  for (const e of ends) {
    const c = committed[0]?.partitions.find((p) => p.partition === e.partition);
    const from = c && BigInt(c.offset) >= 0n ? BigInt(c.offset) : BigInt(e.low);
    if (BigInt(e.high) > from) remaining.set(e.partition, BigInt(e.high));
  }
  const result: ReplayResult = { replayed: 0, skipped: 0 };
  if (remaining.size === 0) return result;

  const producer = o.kafka.producer({ createPartitioner: PARTITIONER, idempotent: true, maxInFlightRequests: 1 });
  const consumer = o.kafka.consumer({ groupId, allowAutoTopicCreation: false });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [o.dlqTopic], fromBeginning: true });
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  let idle = setTimeout(done, o.idleTimeoutMs ?? 30000);
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      clearTimeout(idle);
      idle = setTimeout(done, o.idleTimeoutMs ?? 30000);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? String(v[0]) : String(v);
      }
      const source = headers[HEADERS.dlqSourceTopic];
      const group = headers[HEADERS.dlqConsumerGroup];
      const wanted = source && (!o.consumerGroup || o.consumerGroup === group);
      if (wanted && !o.dryRun) {
        const clean = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith('dlq-')));
        clean['replayed-from'] = `${o.dlqTopic}:${partition}:${message.offset}`;
        await producer.send({
          topic: source,
          acks: -1,
          messages: [{ key: message.key, value: message.value, headers: clean }],
        });
      }
      if (wanted) result.replayed += 1;
      else result.skipped += 1;
      o.logger.info(
        { partition, offset: message.offset, source, group, replayed: wanted, dryRun: o.dryRun ?? false },
        'dead letter',
      );
      if (!o.dryRun) {
        await consumer.commitOffsets([
          { topic: o.dlqTopic, partition, offset: (BigInt(message.offset) + 1n).toString() },
        ]);
      }
      const end = remaining.get(partition);
      if (end !== undefined && BigInt(message.offset) + 1n >= end) {
        remaining.delete(partition);
        if (remaining.size === 0) done();
      }
    },
  });
  await finished;
  clearTimeout(idle);
  await consumer.disconnect();
  await producer.disconnect();
  return result;
}
