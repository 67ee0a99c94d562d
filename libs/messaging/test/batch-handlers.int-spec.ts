/**
 * EventConsumer batch handlers on the real PostgreSQL and Kafka: runs of one event type go to the
 * set-based handler in the chunk's transaction; a failing batch falls back to the single handler,
 * one savepoint per event, so the culprit alone is retried and dead-lettered and the rest of the
 * chunk is applied exactly once, in per-aggregate order.
 */
import type { Kafka } from 'kafkajs';
import type { Envelope, EventPayload } from '@admit/contracts';
import { Registry } from 'prom-client';
import { EventConsumer, messagingMetrics } from '../src';
import {
  countWhere,
  createTestDb,
  createTestTopic,
  effects,
  logger,
  newAggregates,
  newKafka,
  newMerchant,
  newRelay,
  relayKafka,
  seqsByAggregate,
  SOURCE_TOPIC,
  startConsumer,
  uid,
  waitFor,
  writeEvents,
  type TestDb,
  cleanupAfterEach,
} from './harness';

jest.setTimeout(90_000);

describe('batch handlers', () => {
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

  it('batches runs, and on a failing batch applies the others once and dead-letters only the culprit', async () => {
    const topic = await createTestTopic(kafka);
    cleanup.push(() => topic.remove());
    const group = `it-batch-${uid()}`;
    const batchSizes: number[] = [];
    let broken = true;
    // the consumer (and its single handler, which also fails on poison while broken) before any write
    const consumer = await startConsumer(kafka, db.ds, group, [topic.name], {
      batchHandlers: {
        'ticket.voided': async (events, ctx) => {
          batchSizes.push(events.length);
          if (broken && events.some((e) => e.payload.ticketId.startsWith('poison')))
            throw new Error('batch contains poison');
          await ctx.manager.query(
            `INSERT INTO it_effect (consumer_group, event_id, aggregate_id, seq, kafka_partition, kafka_offset)
             SELECT $1, e.id, e.agg, e.seq, $2, e.off FROM unnest($3::uuid[], $4::text[], $5::int[], $6::bigint[]) AS e(id, agg, seq, off)`,
            [
              group,
              ctx.partition,
              events.map((e) => e.envelope.eventId),
              events.map((e) => e.envelope.aggregateId),
              events.map((e) => Number(e.payload.reason.replace(/^seq:/, ''))),
              events.map((e) => e.offset),
            ],
          );
        },
      },
    });
    cleanup.push(() => consumer.stop());

    // written before the relay starts, so the consumer gets them in large fetches
    const merchant = newMerchant();
    const aggs = newAggregates(4);
    const written: Envelope[] = [];
    for (const agg of aggs) written.push(...(await writeEvents(db.ds, merchant, agg, 15)));
    const [poison] = await writeEvents(db.ds, merchant, aggs[0] ?? 'a', 1, { poison: true });
    for (const agg of aggs) written.push(...(await writeEvents(db.ds, merchant, agg, 5)));
    if (!poison) throw new Error('write failed');

    const relay = newRelay(db, relayKafka(kafka, { [SOURCE_TOPIC]: topic.name }));
    await relay.start();
    cleanup.push(() => relay.stop());

    await waitFor('all good events applied', async () => (await effects(db.ds, group)).length >= written.length);
    await waitFor('the poison event dead-lettered', async () => (await consumer.count('dead_lettered')) === 1);
    const rows = await effects(db.ds, group);
    expect(rows).toHaveLength(written.length); // exactly once each
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(written.length);
    // per-aggregate order kept (the poison event's seq is the gap)
    const expected = new Map<string, number[]>();
    for (const e of written)
      expected.set(e.aggregateId, [
        ...(expected.get(e.aggregateId) ?? []),
        Number((e.payload as EventPayload<'ticket.voided'>).reason.slice(4)),
      ]);
    expect(seqsByAggregate(rows)).toEqual(expected);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1); // the batch path was used
    // the poison event went through the single handler maxAttempts (3) times, then the DLQ
    expect(consumer.calls.get(poison.eventId)).toBe(3);
    const [inbox] = (await db.ds.query(
      `SELECT status, attempts FROM inbox WHERE consumer_group = $1 AND event_id = $2`,
      [group, poison.eventId],
    )) as { status: string; attempts: number }[];
    expect(inbox).toEqual({ status: 'dead_lettered', attempts: 3 });
    expect(await countWhere(db.ds, `SELECT count(*) AS n FROM inbox WHERE consumer_group = $1`, [group])).toBe(
      written.length + 1,
    );
    // every event is counted once, in the transaction that committed it (fast or careful path)
    const txEvents = (await consumer.metrics.consumerTransactionEvents.get()).values;
    const sum = txEvents.find((v) => v.metricName?.endsWith('_sum'))?.value;
    const count = txEvents.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    expect(sum).toBe(written.length + 1);
    expect(count).toBeLessThan(written.length + 1); // chunks of several events committed together
    broken = false;
  });

  it('refuses a batch handler without a single-event handler', () => {
    expect(
      () =>
        new EventConsumer({
          kafka,
          dataSource: db.ds,
          groupId: 'x',
          topics: ['x'],
          handlers: {},
          batchHandlers: { 'ticket.voided': () => Promise.resolve() },
          logger,
          metrics: messagingMetrics(new Registry()),
        }),
    ).toThrow('batch handler for ticket.voided without a single-event handler');
  });
});
