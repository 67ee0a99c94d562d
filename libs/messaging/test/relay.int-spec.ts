/**
 * The outbox relay under restarts, a crash between the broker's ack and the outbox DELETE, and a
 * second relay on the same database, on the real PostgreSQL and Kafka; what it keeps of
 * published rows (ADR 0008).
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
    countWhere(db.ds, `SELECT count(*) AS n FROM outbox_published WHERE event_id = ANY($1::uuid[])`, [ids]);

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
      async () => (await countWhere(db.ds, `SELECT count(*) AS n FROM outbox_published`)) >= 40,
    );
    await a.stop();
    const afterA = await countWhere(db.ds, `SELECT count(*) AS n FROM outbox_published`);

    // relay B publishes, then "crashes" before it can delete the published rows (the DELETE
    // fails and its transaction rolls back), several times; then it is stopped
    let crashes = 0;
    const crashing = interceptingDataSource(db.ds, (sql, result) => {
      if (result === undefined && /^WITH d AS \(DELETE FROM outbox WHERE id = ANY/.test(sql)) {
        crashes += 1;
        throw new Error('simulated crash between the broker ack and the outbox update');
      }
    });
    const b = await started(newRelay(db, viaTopic, { batchSize: 20, dataSource: crashing }));
    await waitFor('relay B crashed after publishing', async () => crashes >= 2);
    await b.stop();
    // nothing B sent was deleted (nor copied)
    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM outbox_published`)).toBe(afterA);

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

  it('(h) by default the relay deletes what it published and keeps no copy; housekeeping clears marked rows and expired copies', async () => {
    const { topic, consumer } = await topicAndConsumer();
    const viaTopic = relayKafka(kafka, { [SOURCE_TOPIC]: topic.name });
    const merchant = newMerchant();
    const relay = await started(newRelay(db, viaTopic, { keepPublishedMs: 0, batchSize: 50 }));
    const written = await writeConcurrently(db.ds, merchant, newAggregates(5), 120, 3, 5);
    const ids = written.map((e) => e.eventId);
    await expectExactlyOnceInOrder(consumer, written);
    const [left] = (await db.ds.query(
      `SELECT (SELECT count(*) FROM outbox WHERE event_id = ANY($1::uuid[]))::int AS outbox,
              (SELECT count(*) FROM outbox_published WHERE event_id = ANY($1::uuid[]))::int AS copies`,
      [ids],
    )) as { outbox: number; copies: number }[];
    expect(left).toEqual({ outbox: 0, copies: 0 });
    expect((await readAll(kafka, topic.name)).length).toBe(120);

    // a row marked by a relay of the previous release, and an old copy: housekeeping removes both
    const [marked] = (await db.ds.query(
      `INSERT INTO outbox (event_id, topic, message_key, value, published_at)
       VALUES (gen_random_uuid(), 'legacy', 'k', '{}', clock_timestamp()) RETURNING event_id::text AS id`,
    )) as { id: string }[];
    await db.ds.query(
      `INSERT INTO outbox_published (id, event_id, topic, message_key, value, headers, created_at, published_at)
       VALUES (-1, gen_random_uuid(), 'legacy', 'k', '{}', '{}', now(), now() - interval '1 hour')`,
    );
    await relay.houseKeep();
    const [after] = (await db.ds.query(
      `SELECT (SELECT count(*) FROM outbox WHERE event_id = $1)::int AS marked,
              (SELECT count(*) FROM outbox_published WHERE event_id = $1 OR id = -1)::int AS copies`,
      [marked?.id],
    )) as { marked: number; copies: number }[];
    expect(after).toEqual({ marked: 0, copies: 0 });

    // a relay that keeps copies moves a marked row into outbox_published instead
    const keeping = newRelay(db, viaTopic, { keepPublishedMs: 3600_000 });
    const [marked2] = (await db.ds.query(
      `INSERT INTO outbox (event_id, topic, message_key, value, published_at)
       VALUES (gen_random_uuid(), 'legacy', 'k', '{}', clock_timestamp()) RETURNING event_id::text AS id`,
    )) as { id: string }[];
    await keeping.houseKeep();
    expect(
      await countWhere(
        db.ds,
        `SELECT count(*) AS n FROM outbox_events WHERE event_id = $1 AND published_at IS NOT NULL`,
        [marked2?.id],
      ),
    ).toBe(1);
    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM outbox WHERE event_id = $1`, [marked2?.id])).toBe(0);
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
