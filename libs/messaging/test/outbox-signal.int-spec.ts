/**
 * How the relay learns that outbox rows were committed, now that no trigger NOTIFYs inside the
 * writers' transactions (ADR 0006): the in-process commit signal, its savepoint and rollback
 * rules, the post-commit NOTIFY between processes, and the migration that drops the trigger.
 * Real PostgreSQL and Kafka; every relay here polls only once a minute, so anything published
 * within the deadlines below was woken by a signal, not found by the fallback poll.
 */
import type { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import {
  appendToOutbox,
  markOutboxWritten,
  MessagingOutboxSignal1764748800000,
  onOutboxCommit,
  type OutboxRelay,
} from '../src';
import {
  countWhere,
  createTestDb,
  createTestTopic,
  interceptingDataSource,
  newAggregates,
  newKafka,
  newMerchant,
  newRelay,
  relayKafka,
  SOURCE_TOPIC,
  waitFor,
  writeEvents,
  type TestDb,
  cleanupAfterEach,
} from './harness';

jest.setTimeout(90_000);

const POLL_ONCE_A_MINUTE = 60_000;

describe('outbox commit signal', () => {
  let db: TestDb;
  let kafka: Kafka;
  let topicName = '';
  let viaTopic: Kafka;
  let removeTopic: () => Promise<void> = () => Promise.resolve();
  const cleanup = cleanupAfterEach();

  beforeAll(async () => {
    db = await createTestDb();
    kafka = newKafka();
    const topic = await createTestTopic(kafka);
    topicName = topic.name;
    viaTopic = relayKafka(kafka, { [SOURCE_TOPIC]: topic.name });
    removeTopic = () => topic.remove();
  });
  afterAll(async () => {
    await removeTopic().catch(() => undefined);
    await db.drop();
  });

  const unpublished = (): Promise<number> =>
    countWhere(db.ds, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');

  async function started(relay: OutboxRelay): Promise<OutboxRelay> {
    await relay.start();
    cleanup.push(() => relay.stop());
    // the first pass (at start) finds whatever is there; from now on only signals wake it
    await waitFor('relay idle', async () => (await unpublished()) === 0, 10_000);
    return relay;
  }

  it('signals once per outermost commit that wrote outbox rows, never on rollback or a savepoint', async () => {
    let calls = 0;
    const off = onOutboxCommit(db.ds, () => (calls += 1));
    cleanup.push(async () => off());
    const [agg] = newAggregates(1);
    const merchant = newMerchant();

    await writeEvents(db.ds, merchant, agg ?? 'a', 2);
    expect(calls).toBe(1);

    await writeEvents(db.ds, merchant, agg ?? 'a', 1, { rollback: true });
    expect(calls).toBe(1);

    // a transaction without outbox rows does not signal
    await db.ds.transaction((m) => m.query('SELECT 1'));
    expect(calls).toBe(1);

    // nested transaction (a savepoint): the inner commit is not a commit of the data
    let afterInner = -1;
    await db.ds.transaction(async (outer) => {
      await outer.transaction(async (inner) => {
        await inner.query(
          `INSERT INTO outbox (event_id, topic, message_key, value) VALUES (gen_random_uuid(), 'x', 'k', '{}')`,
        );
        await markOutboxWritten(inner);
      });
      afterInner = calls;
    });
    expect(afterInner).toBe(1);
    expect(calls).toBe(2);
    await db.ds.query(`DELETE FROM outbox WHERE topic = 'x'`);
  });

  it('publishes a committed transaction at once without the poll', async () => {
    await started(newRelay(db, viaTopic, { pollIntervalMs: POLL_ONCE_A_MINUTE }));
    const merchant = newMerchant();
    const aggs = newAggregates(20);
    const lags: number[] = [];
    for (const agg of aggs) {
      const [env] = await writeEvents(db.ds, merchant, agg, 1);
      await waitFor(
        'published',
        async () =>
          (await countWhere(db.ds, 'SELECT count(*) AS n FROM outbox_published WHERE event_id = $1', [
            env?.eventId,
          ])) === 1,
        2_000,
        5,
      );
      const [row] = (await db.ds.query(
        `SELECT EXTRACT(EPOCH FROM published_at - created_at) * 1000 AS ms FROM outbox_published WHERE event_id = $1`,
        [env?.eventId],
      )) as { ms: string }[];
      lags.push(Number(row?.ms));
    }
    lags.sort((a, b) => a - b);
    // commit → published including one broker round trip; the poll would be 60 s
    expect(lags[lags.length - 1]).toBeLessThan(1_000);
  });

  it('a relay that did not get the lock wakes the one that has it with a NOTIFY after the commit', async () => {
    const other = new DataSource({ type: 'postgres', url: db.url, synchronize: false, extra: { max: 4 } });
    await other.initialize();
    cleanup.push(() => other.destroy());
    // the second process's relay never gets the publishing lock (as when another replica holds
    // it): its lock answers are turned into "held elsewhere"
    let refused = 0;
    const refusing = interceptingDataSource(other, (sql, result) => {
      if (!result || !sql.includes('pg_try_advisory_xact_lock')) return;
      const [row] = result as { ok: boolean }[];
      if (row?.ok) {
        row.ok = false;
        refused += 1;
      }
    });
    await started(newRelay(db, viaTopic, { pollIntervalMs: POLL_ONCE_A_MINUTE }));
    await started(newRelay(db, viaTopic, { dataSource: refusing, pollIntervalMs: POLL_ONCE_A_MINUTE }));

    const [env] = await writeEvents(other, newMerchant(), newAggregates(1)[0] ?? 'a', 1);
    await waitFor(
      'published by the relay holding the lock',
      async () =>
        (await countWhere(db.ds, 'SELECT count(*) AS n FROM outbox_published WHERE event_id = $1', [env?.eventId])) ===
        1,
      3_000,
      10,
    );
    expect(refused).toBeGreaterThan(0);
  });

  it('a NOTIFY from any session wakes the relay (writers without a relay of their own)', async () => {
    await started(newRelay(db, viaTopic, { pollIntervalMs: POLL_ONCE_A_MINUTE }));
    const [row] = (await db.ds.query(
      `INSERT INTO outbox (event_id, topic, message_key, value) SELECT gen_random_uuid(), topic, 'k', '{}'
         FROM (SELECT $1::text AS topic) t RETURNING event_id`,
      [topicName],
    )) as { event_id: string }[];
    await db.ds.query(`SELECT pg_notify('outbox_ready', '')`);
    await waitFor(
      'published after the NOTIFY',
      async () =>
        (await countWhere(db.ds, 'SELECT count(*) AS n FROM outbox_published WHERE event_id = $1', [row?.event_id])) ===
        1,
      3_000,
      10,
    );
  });

  it('appendToOutbox from a process without a relay (a plain pg client) wakes the relay with a NOTIFY', async () => {
    await started(newRelay(db, viaTopic, { pollIntervalMs: POLL_ONCE_A_MINUTE }));
    const client = new Client({ connectionString: db.url });
    await client.connect();
    cleanup.push(() => client.end());
    const manager = { query: (sql: string, params?: unknown[]) => client.query(sql, params).then((r) => r.rows) };
    const env = await appendToOutbox(manager as unknown as EntityManager, {
      type: 'ticket.voided',
      aggregateId: 'agg-plain',
      merchantId: newMerchant(),
      payload: {
        ticketId: 'tkt-plain',
        orderId: 'agg-plain',
        merchantId: 'm',
        reason: 'seq:1',
        voidedAt: new Date().toISOString(),
      },
    });
    await waitFor(
      'published after the writer’s NOTIFY',
      async () =>
        (await countWhere(db.ds, 'SELECT count(*) AS n FROM outbox_published WHERE event_id = $1', [env.eventId])) ===
        1,
      3_000,
      10,
    );
  });

  it('the migration drops the NOTIFY trigger and its down migration restores it', async () => {
    const triggers = (): Promise<number> =>
      countWhere(db.ds, `SELECT count(*) AS n FROM pg_trigger WHERE tgname = 'outbox_notify_trg'`);
    expect(await triggers()).toBe(0);
    const qr = db.ds.createQueryRunner();
    try {
      const migration = new MessagingOutboxSignal1764748800000();
      await migration.down(qr);
      expect(await triggers()).toBe(1);
      await migration.up(qr);
      expect(await triggers()).toBe(0);
      await migration.up(qr); // idempotent
      expect(await triggers()).toBe(0);
    } finally {
      await qr.release();
    }
  });
});
