/**
 * The outbox relay under restarts, a crash between the broker's ack and the outbox UPDATE, and a
 * second relay on the same database, on the real PostgreSQL and Kafka.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { HEADERS, type Envelope } from '@admit/contracts';
import type { OutboxRelay } from '../src';
import {
  countWhere,
  createTestDb,
  createTestTopic,
  effects,
  expectedSeqs,
  header,
  interceptingDataSource,
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
  type SendObserver,
  type TestConsumer,
  type TestDb,
  type TestTopic,
  cleanupAfterEach,
} from './harness';

// the project-level testTimeout in jest.config.js is not applied by Jest 30 (a global option)
jest.setTimeout(90_000);

describe('outbox relay', () => {
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

  async function topicAndConsumer(): Promise<{ topic: TestTopic; consumer: TestConsumer }> {
    const topic = await createTestTopic(kafka);
    cleanup.push(() => topic.remove());
    const consumer = await startConsumer(kafka, db.ds, `it-relay-${uid()}`, [topic.name]);
    cleanup.push(() => consumer.stop());
    return { topic, consumer };
  }

  async function started(relay: OutboxRelay): Promise<OutboxRelay> {
    await relay.start();
    cleanup.push(() => relay.stop());
    return relay;
  }

  const published = (ids: string[]): Promise<number> =>
    countWhere(
      db.ds,
      `SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL AND event_id = ANY($1::uuid[])`,
      [ids],
    );

  async function expectExactlyOnceInOrder(consumer: TestConsumer, written: Envelope[]): Promise<void> {
    await waitFor(
      `${written.length} effects`,
      async () => (await effects(db.ds, consumer.group)).length >= written.length,
      60_000,
    );
    await sleep(1500); // a second effect would show up now
    const rows = await effects(db.ds, consumer.group);
    expect(rows).toHaveLength(written.length);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(written.map((e) => e.eventId)));
    expect(seqsByAggregate(rows)).toEqual(expectedSeqs(written));
  }

  it('(f) relay restarts mid-stream, one after a crash between ack and mark: every event published at least once, consumed exactly once', async () => {
    const { topic, consumer } = await topicAndConsumer();
    const viaTopic = relayKafka(kafka, { [SOURCE_TOPIC]: topic.name });
    const merchant = newMerchant();
    const writing = writeConcurrently(db.ds, merchant, newAggregates(10), 300, 3, 10);

    // relay A publishes part of the stream and is stopped while the writers go on
    const a = await started(newRelay(db, viaTopic, { batchSize: 20 }));
    await waitFor(
      'relay A published some',
      async () => (await countWhere(db.ds, `SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL`)) >= 40,
    );
    await a.stop();
    const afterA = await countWhere(db.ds, `SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL`);

    // relay B publishes, then "crashes" before it can mark the rows published (the UPDATE fails
    // and its transaction rolls back), several times; then it is stopped
    let crashes = 0;
    const crashing = interceptingDataSource(db.ds, (sql, result) => {
      if (result === undefined && sql.startsWith('UPDATE outbox SET published_at')) {
        crashes += 1;
        throw new Error('simulated crash between the broker ack and the outbox update');
      }
    });
    const b = await started(newRelay(db, viaTopic, { batchSize: 20, dataSource: crashing }));
    await waitFor('relay B crashed after publishing', async () => crashes >= 2);
    await b.stop();
    // nothing B sent was marked
    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM outbox WHERE published_at IS NOT NULL`)).toBe(afterA);

    // relay C, a fresh one, finishes the job
    await started(newRelay(db, viaTopic, { batchSize: 20 }));
    const written = await writing;
    expect(written).toHaveLength(300);
    await waitFor('all published', async () => (await published(written.map((e) => e.eventId))) === 300);
    await expectExactlyOnceInOrder(consumer, written);

    // at least once on Kafka: every event is there, B's batches more than once
    const records = await readAll(kafka, topic.name);
    const ids = records.map((r) => header(r.message, HEADERS.eventId));
    expect(new Set(ids)).toEqual(new Set(written.map((e) => e.eventId)));
    expect(records.length).toBeGreaterThan(300);
    expect(await consumer.count('duplicate')).toBe(records.length - 300);
    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM inbox WHERE consumer_group = $1`, [consumer.group])).toBe(
      300,
    );
  });

  it('(g) two relays on one database: only one publishes at a time, nothing twice, per-aggregate order holds', async () => {
    const { topic, consumer } = await topicAndConsumer();
    const merchant = newMerchant();
    let inFlight = 0;
    let maxInFlight = 0;
    const sends = new Map<string, number>();
    let gate: Promise<void> | null = null;
    let openGate: () => void = () => undefined;
    let blocked: () => void = () => undefined;
    const oneBlocked = new Promise<void>((r) => (blocked = r));
    const observe: SendObserver = async (relay, run) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      sends.set(relay, (sends.get(relay) ?? 0) + 1);
      try {
        if (gate && relay === 'r1') {
          blocked();
          await gate;
        }
        await sleep(10); // widen the window in which a second publisher would overlap
        return await run();
      } finally {
        inFlight -= 1;
      }
    };
    const denied = new Map<string, number>();
    const watchLock = (name: string) =>
      interceptingDataSource(db.ds, (sql, result) => {
        if (
          result !== undefined &&
          sql.includes('pg_try_advisory_xact_lock') &&
          !(result as { ok: boolean }[])[0]?.ok
        ) {
          denied.set(name, (denied.get(name) ?? 0) + 1);
        }
      });

    // phase 1: r1 is stuck inside a publish (holding the lock); r2 must not publish meanwhile
    gate = new Promise<void>((r) => (openGate = r));
    await started(
      newRelay(db, relayKafka(kafka, { [SOURCE_TOPIC]: topic.name }, 'r1', observe), { dataSource: watchLock('r1') }),
    );
    const [firstAgg] = newAggregates(1) as [string];
    const first = await writeEvents(db.ds, merchant, firstAgg, 5);
    await oneBlocked;
    await started(
      newRelay(db, relayKafka(kafka, { [SOURCE_TOPIC]: topic.name }, 'r2', observe), { dataSource: watchLock('r2') }),
    );
    await writeEvents(db.ds, merchant, firstAgg, 1).then((w) => first.push(...w));
    await sleep(1200);
    expect(sends.get('r2') ?? 0).toBe(0);
    expect(denied.get('r2') ?? 0).toBeGreaterThan(0);
    expect(await published(first.map((e) => e.eventId))).toBe(0);
    gate = null;
    openGate();

    // phase 2: both relays race for a stream of concurrent writes
    const rest = await writeConcurrently(db.ds, merchant, newAggregates(20), 400, 4, 2);
    const written = [...first, ...rest];
    await waitFor(
      'all published',
      async () => (await published(written.map((e) => e.eventId))) === written.length,
      60_000,
    );
    await expectExactlyOnceInOrder(consumer, written);

    expect(maxInFlight).toBe(1);
    expect((await readAll(kafka, topic.name)).length).toBe(written.length); // nothing published twice
    expect(await consumer.count('duplicate')).toBe(0);
    expect((denied.get('r1') ?? 0) + (denied.get('r2') ?? 0)).toBeGreaterThan(0);
  });
});
