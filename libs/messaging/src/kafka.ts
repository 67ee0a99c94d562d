import { Kafka, logLevel, Partitioners, type Admin, type LogEntry } from 'kafkajs';
import { allTopicSpecs } from '@admit/contracts';
import type { Logger } from './logger';

export type KafkaSettings = {
  brokers: string[];
  clientId: string;
  /** ms; kafkajs default 1000 is too short for a broker that is restarting. */
  connectionTimeoutMs?: number;
};

/** The one place a kafkajs client is built: explicit partitioner, logs routed to our logger. */
export function createKafka(settings: KafkaSettings, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: settings.connectionTimeoutMs ?? 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        if (level <= logLevel.ERROR) log.error(rest, message);
        else if (level === logLevel.WARN) log.warn(rest, message);
        else log.debug(rest, message);
      },
  });
}

/**
 * The Java-compatible murmur2 partitioner (kafkajs' default since 2.x, named explicitly): every
 * producer of a topic must hash keys identically or per-aggregate ordering breaks.
 */
export const PARTITIONER = Partitioners.DefaultPartitioner;

/** Creates every Admit topic and its dead-letter topic if missing (idempotent, waits for leaders). */
export async function ensureTopics(admin: Admin, replicationFactor = 1): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = allTopicSpecs().filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions, replicationFactor })),
    });
  } catch (err) {
    // Another service may have created them at the same moment.
    const now = new Set(await admin.listTopics());
    if (missing.some((t) => !now.has(t.topic))) throw err;
  }
}
