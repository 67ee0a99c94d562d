import 'reflect-metadata';
import { EventConsumer, type HandlerMap } from '@admit/messaging';
import { createPlatform, type Platform } from '@admit/service-kit';
import { loadReportingSettings, type ReportingSettings } from './config';
import { REPORTING_MIGRATIONS } from './database/migrations';
import { LedgerConsumer } from './ledger/ledger.consumer';
import { READ_MODEL_TABLES, REPORTING_TOPICS } from './topics';
import { VisitorsConsumer } from './visitors/visitors.consumer';

export type RebuildResult = { events: number; seconds: number };

/**
 * Offsets (per topic/partition) the group must reach: the high watermarks when the rebuild began,
 * with the low ones (a partition with nothing in it, or nothing left, has low = high).
 */
async function highWatermarks(
  platform: Platform,
  topics: string[],
): Promise<Map<string, { low: bigint; high: bigint }>> {
  const admin = platform.kafka.admin();
  await admin.connect();
  try {
    const out = new Map<string, { low: bigint; high: bigint }>();
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic))
        out.set(`${topic}/${p.partition}`, { low: BigInt(p.low), high: BigInt(p.high) });
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

async function caughtUp(
  platform: Platform,
  groupId: string,
  topics: string[],
  target: Map<string, { low: bigint; high: bigint }>,
) {
  const admin = platform.kafka.admin();
  await admin.connect();
  try {
    const committed = await admin.fetchOffsets({ groupId, topics });
    for (const t of committed) {
      for (const p of t.partitions) {
        const want = target.get(`${t.topic}/${p.partition}`);
        if (!want || want.high <= want.low) continue; // nothing to replay in this partition
        // -1 (no commit) and -2 (reset to earliest, nothing consumed since) mean "at the start"
        const have = Number(p.offset) < 0 ? want.low : BigInt(p.offset);
        if (have < want.high) return false;
      }
    }
    return true;
  } finally {
    await admin.disconnect();
  }
}

/**
 * Drops the read models and rebuilds them by replaying the topics from the beginning: with the
 * service stopped, truncates the read-model tables and the inbox of reporting's consumer group in
 * one transaction, resets the group's offsets to the earliest ones, and consumes with the live
 * handlers until the group has committed the high watermarks taken at the start. The service then
 * resumes from there. Kafka refuses the offset reset while the service's consumers are in the
 * group, so a rebuild cannot run under a live reporting instance.
 */
export async function rebuild(
  settings: ReportingSettings,
  opts: { timeoutMs?: number; groupWaitMs?: number } = {},
): Promise<RebuildResult> {
  const started = Date.now();
  const platform = await createPlatform({ settings, entities: [], migrations: REPORTING_MIGRATIONS });
  const { logger } = platform;
  const topics = [...new Set(REPORTING_TOPICS)];
  let consumer: EventConsumer | null = null;
  try {
    const admin = platform.kafka.admin();
    await admin.connect();
    try {
      // A member killed without leaving stays in the group until its session times out (30 s),
      // and if it died while the group was rebalancing (e.g. soon after a restart), until the
      // rebalance timeout (60 s) has passed as well.
      const until = Date.now() + (opts.groupWaitMs ?? 120_000);
      for (;;) {
        const group = await admin.describeGroups([settings.groupId]);
        const members = group.groups[0]?.members.length ?? 0;
        if (members === 0) break;
        if (Date.now() > until)
          throw new Error(
            `consumer group ${settings.groupId} still has ${members} member(s): stop every reporting instance first`,
          );
        logger.info({ members }, 'waiting for the consumer group to empty');
        await new Promise((r) => setTimeout(r, 1000));
      }
      for (const topic of topics) await admin.resetOffsets({ groupId: settings.groupId, topic, earliest: true });
    } finally {
      await admin.disconnect();
    }
    await platform.dataSource.transaction(async (m) => {
      await m.query(`TRUNCATE ${READ_MODEL_TABLES.join(', ')}`);
      await m.query(`DELETE FROM inbox WHERE consumer_group = $1`, [settings.groupId]);
    });
    logger.info({ tables: READ_MODEL_TABLES }, 'read models dropped; replaying from the beginning');
    const target = await highWatermarks(platform, topics);
    const ledger = new LedgerConsumer(settings, logger);
    const visitors = new VisitorsConsumer(logger);
    const handlers: HandlerMap = { ...platform.keys.handlers(), ...ledger.handlers(), ...visitors.handlers() };
    consumer = new EventConsumer({
      kafka: platform.kafka,
      dataSource: platform.dataSource,
      groupId: settings.groupId,
      topics,
      handlers,
      // the same set-based handlers as the running service (so a rebuild is as fast as ingest)
      batchHandlers: { ...ledger.batchHandlers(), ...visitors.batchHandlers() },
      chunkSize: 500,
      logger,
      metrics: platform.metrics,
      fromBeginning: true,
    });
    await consumer.start();
    const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
    while (!(await caughtUp(platform, settings.groupId, topics, target))) {
      if (Date.now() > deadline) throw new Error('rebuild timed out before reaching the high watermarks');
      await new Promise((r) => setTimeout(r, 300));
    }
    const rows = (await platform.dataSource.query(`SELECT count(*)::int AS n FROM inbox WHERE consumer_group = $1`, [
      settings.groupId,
    ])) as { n: number }[];
    const result = { events: rows[0]?.n ?? 0, seconds: (Date.now() - started) / 1000 };
    logger.info(result, 'rebuild done');
    return result;
  } finally {
    await consumer?.stop();
    await platform.relay.stop().catch(() => undefined);
    await platform.dataSource.destroy().catch(() => undefined);
    platform.redis.disconnect();
  }
}

if (require.main === module) {
  rebuild(loadReportingSettings())
    .then((r) => {
      process.stdout.write(`${JSON.stringify({ rebuilt: true, ...r })}\n`);
      process.exit(0);
    })
    .catch((e: unknown) => {
      process.stderr.write(`rebuild failed: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    });
}
