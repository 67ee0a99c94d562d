/**
 * The backbone end to end on the real PostgreSQL and Kafka: producer transactions append to the
 * outbox, the relay publishes, the EventConsumer applies each event once in its inbox transaction.
 */
import type { Kafka } from 'kafkajs';
import type { Envelope } from '@admit/contracts';
import type { OutboxRelay } from '../src';
import {
  countWhere,
  createTestDb,
  createTestTopic,
  effects,
  expectedSeqs,
  newAggregates,
  newKafka,
  newMerchant,
  newRelay,
  readAll,
  relayKafka,
  seqsByAggregate,
  SOURCE_TOPIC,
  startConsumer,
  uid,
  waitFor,
  writeConcurrently,
  writeEvents,
  type TestConsumer,
  type TestDb,
  type TestTopic,
  cleanupAfterEach,
} from './harness';

// the project-level testTimeout in jest.config.js is not applied by Jest 30 (a global option)
jest.setTimeout(60_000);

describe('outbox → relay → Kafka → EventConsumer → inbox', () => {
  let db: TestDb;
  let kafka: Kafka;
  const cleanup = cleanupAfterEach();

  beforeAll(async () => {
    db = await createTestDb();
    kafka = newKafka();
  });
  afterAll(async () => {
    await db.drop();
  });

  async function pipeline(): Promise<{ topic: TestTopic; relay: OutboxRelay; group: string; consumer: TestConsumer }> {
    const topic = await createTestTopic(kafka);
    cleanup.push(() => topic.remove());
    const relay = newRelay(db, relayKafka(kafka, { [SOURCE_TOPIC]: topic.name }));
    await relay.start();
    cleanup.push(() => relay.stop());
    const group = `it-inbox-${uid()}`;
    const consumer = await startConsumer(kafka, db.ds, group, [topic.name]);
    cleanup.push(() => consumer.stop());
    return { topic, relay, group, consumer };
  }

  const processedOnce = async (group: string, written: Envelope[]): Promise<void> => {
    const ids = written.map((e) => e.eventId);
    await waitFor(`${ids.length} effects for ${group}`, async () => {
      const n = await countWhere(db.ds, `SELECT count(*) AS n FROM it_effect WHERE consumer_group = $1`, [group]);
      return n >= ids.length;
    });
  };

  it('(a) N events committed by concurrent writers arrive exactly once each, in per-aggregate order', async () => {
    const { group, consumer } = await pipeline();
    const merchant = newMerchant();
    const aggregates = newAggregates(8);
    const written = await writeConcurrently(db.ds, merchant, aggregates, 240, 4);
    expect(written).toHaveLength(240);

    // the outbox addressed them to the registry topic
    const topics = (await db.ds.query(`SELECT DISTINCT topic FROM outbox WHERE event_id = ANY($1::uuid[])`, [
      written.map((e) => e.eventId),
    ])) as { topic: string }[];
    expect(topics.map((t) => t.topic)).toEqual([SOURCE_TOPIC]);

    await processedOnce(group, written);
    // let stragglers (a second delivery, if any) arrive before judging "exactly once"
    await waitFor('consumer idle', async () => (await consumer.count('processed')) >= 240);
    await new Promise((r) => setTimeout(r, 1500));

    const rows = await effects(db.ds, group);
    expect(rows).toHaveLength(240);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(written.map((e) => e.eventId)));
    expect(seqsByAggregate(rows)).toEqual(expectedSeqs(written));

    // one inbox row per event, processed, first attempt
    const inbox = (await db.ds.query(
      `SELECT status, attempts, count(*)::int AS n FROM inbox WHERE consumer_group = $1 GROUP BY status, attempts`,
      [group],
    )) as { status: string; attempts: number; n: number }[];
    expect(inbox).toEqual([{ status: 'processed', attempts: 1, n: 240 }]);

    // each aggregate travelled on one partition (key = aggregate id)
    const partitions = (await db.ds.query(
      `SELECT aggregate_id, count(DISTINCT kafka_partition)::int AS n FROM it_effect WHERE consumer_group = $1 GROUP BY aggregate_id`,
      [group],
    )) as { n: number }[];
    expect(partitions.every((p) => p.n === 1)).toBe(true);
    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM outbox WHERE published_at IS NULL`)).toBe(0);
    expect(await consumer.count('duplicate')).toBe(0);
    expect(await consumer.count('dead_lettered')).toBe(0);
  });

  it('(b) a rolled-back transaction’s events are never published', async () => {
    const { topic, group } = await pipeline();
    const merchant = newMerchant();
    const [kept, lost] = newAggregates(2) as [string, string];
    const before = await writeEvents(db.ds, merchant, kept, 2);
    // held open across several relay polls (200 ms) before rolling back
    const rolledBack = await writeEvents(db.ds, merchant, lost, 3, { rollback: true, holdMs: 700 });
    expect(rolledBack).toHaveLength(3);
    const after = await writeEvents(db.ds, merchant, kept, 2);
    await processedOnce(group, [...before, ...after]);

    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM outbox WHERE message_key = $1`, [lost])).toBe(0);
    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM it_aggregate WHERE id = $1`, [lost])).toBe(0);
    expect(
      await countWhere(db.ds, `SELECT count(*) AS n FROM inbox WHERE event_id = ANY($1::uuid[])`, [
        rolledBack.map((e) => e.eventId),
      ]),
    ).toBe(0);
    const onKafka = await readAll(kafka, topic.name);
    expect(onKafka).toHaveLength(4);
    expect(onKafka.filter((r) => r.message.key?.toString() === lost)).toEqual([]);
    expect(seqsByAggregate(await effects(db.ds, group))).toEqual(new Map([[kept, [1, 2, 3, 4]]]));
  });

  it('(c) redelivery from the beginning of the topic has no second effect (inbox)', async () => {
    const { topic, group, consumer } = await pipeline();
    const merchant = newMerchant();
    const written = await writeConcurrently(db.ds, merchant, newAggregates(5), 60, 3);
    await processedOnce(group, written);
    await waitFor('first consumer committed its offsets', async () => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic.name] });
        const n = (committed?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
        return n >= 60;
      } finally {
        await admin.disconnect();
      }
    });
    await consumer.stop();

    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.resetOffsets({ groupId: group, topic: topic.name, earliest: true });
    } finally {
      await admin.disconnect();
    }
    const again = await startConsumer(kafka, db.ds, group, [topic.name]);
    cleanup.push(() => again.stop());
    await waitFor('all 60 redelivered', async () => (await again.count('duplicate')) >= 60);

    expect(await again.count('processed')).toBe(0);
    expect([...again.calls.values()].reduce((a, b) => a + b, 0)).toBe(0); // the handler never ran again
    const rows = await effects(db.ds, group);
    expect(rows).toHaveLength(60);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(60);
    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM inbox WHERE consumer_group = $1`, [group])).toBe(60);
  });
});
