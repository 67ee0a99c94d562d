/**
 * Poison events on the real PostgreSQL and Kafka: bounded retries, the dead-letter topic through
 * the consumer's outbox, an unblocked partition, and replay after the fix.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { HEADERS } from '@admit/contracts';
import { replayDeadLetters } from '../src';
import {
  countWhere,
  createTestDb,
  createTestTopic,
  effects,
  header,
  logger,
  newAggregates,
  newKafka,
  newMerchant,
  newRelay,
  rawProducer,
  readAll,
  readTopic,
  relayKafka,
  seqsByAggregate,
  SOURCE_TOPIC,
  startConsumer,
  uid,
  waitFor,
  writeEvents,
  type TestConsumer,
  type TestDb,
  type TestTopic,
  cleanupAfterEach,
} from './harness';

// the project-level testTimeout in jest.config.js is not applied by Jest 30 (a global option)
jest.setTimeout(60_000);

type InboxRow = {
  status: string;
  attempts: number;
  error: string | null;
  kafka_partition: number;
  kafka_offset: string;
};

describe('dead letters', () => {
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

  async function pipeline(groups = 1): Promise<{ topic: TestTopic; consumers: TestConsumer[] }> {
    const topic = await createTestTopic(kafka);
    cleanup.push(() => topic.remove());
    // one relay publishes both the events (renamed to the test topic) and the dead letters
    const relay = newRelay(db, relayKafka(kafka, { [SOURCE_TOPIC]: topic.name }));
    await relay.start();
    cleanup.push(() => relay.stop());
    const consumers: TestConsumer[] = [];
    for (let i = 0; i < groups; i++) {
      const c = await startConsumer(kafka, db.ds, `it-dlq-${uid()}`, [topic.name]);
      cleanup.push(() => c.stop());
      consumers.push(c);
    }
    return { topic, consumers };
  }

  const groupOf = (c: TestConsumer): string => c.group;
  const effectCount = (group: string): Promise<number> =>
    countWhere(db.ds, `SELECT count(*) AS n FROM it_effect WHERE consumer_group = $1`, [group]);
  const inboxRow = async (group: string, eventId: string): Promise<InboxRow | undefined> =>
    (
      (await db.ds.query(
        `SELECT status, attempts, error, kafka_partition, kafka_offset FROM inbox WHERE consumer_group = $1 AND event_id = $2`,
        [group, eventId],
      )) as InboxRow[]
    )[0];
  const dlqRecords = (topic: TestTopic, n: number): Promise<{ partition: number; message: KafkaMessage }[]> =>
    readTopic(kafka, topic.dlq, (m) => m.length >= n);

  it('(d) a handler that always fails: after maxAttempts the event is on <topic>.dlq, inbox dead_lettered, and the partition moves on', async () => {
    const { topic, consumers } = await pipeline();
    const consumer = consumers[0] as TestConsumer;
    const group = groupOf(consumer);
    const merchant = newMerchant();
    const [agg] = newAggregates(1) as [string];
    const [first] = await writeEvents(db.ds, merchant, agg, 1);
    const [poison] = await writeEvents(db.ds, merchant, agg, 1, { poison: true });
    const [next1] = await writeEvents(db.ds, merchant, agg, 1);
    const [next2] = await writeEvents(db.ds, merchant, agg, 1);
    if (!first || !poison || !next1 || !next2) throw new Error('writes failed');

    // the events after the poison one, same aggregate hence same partition, are processed
    await waitFor('the events after the poison one', async () => (await effectCount(group)) >= 3);
    const rows = await effects(db.ds, group);
    expect(seqsByAggregate(rows)).toEqual(new Map([[agg, [1, 3, 4]]]));
    expect(rows.map((r) => r.event_id)).toEqual([first.eventId, next1.eventId, next2.eventId]);

    const inbox = await inboxRow(group, poison.eventId);
    expect(inbox).toMatchObject({ status: 'dead_lettered', attempts: 3 });
    expect(inbox?.error).toContain(`cannot handle poison-${agg}-2`);
    expect(consumer.calls.get(poison.eventId)).toBeGreaterThanOrEqual(3);

    const [dlq] = await dlqRecords(topic, 1);
    if (!dlq) throw new Error('no dead letter');
    const m = dlq.message;
    expect(m.key?.toString()).toBe(agg);
    expect(JSON.parse(m.value?.toString() ?? '')).toEqual(poison); // the original bytes
    const [firstInbox] = [await inboxRow(group, first.eventId)];
    expect(header(m, HEADERS.eventId)).toBe(poison.eventId);
    expect(header(m, HEADERS.eventType)).toBe('ticket.voided');
    expect(header(m, HEADERS.correlationId)).toBe(poison.correlationId);
    expect(header(m, HEADERS.dlqError)).toContain(`cannot handle poison-${agg}-2`);
    expect(header(m, HEADERS.dlqSourceTopic)).toBe(topic.name);
    expect(header(m, HEADERS.dlqSourcePartition)).toBe(String(firstInbox?.kafka_partition));
    expect(header(m, HEADERS.dlqSourceOffset)).toBe(String(Number(firstInbox?.kafka_offset) + 1));
    expect(header(m, HEADERS.dlqConsumerGroup)).toBe(group);
    expect(header(m, HEADERS.dlqAttempts)).toBe('3');
    expect(await consumer.count('dead_lettered')).toBe(1);
  });

  it('(d) an invalid record (not JSON, bad envelope, bad payload) goes to the DLQ at once and later events are processed', async () => {
    const { topic, consumers } = await pipeline();
    const consumer = consumers[0] as TestConsumer;
    const group = groupOf(consumer);
    const merchant = newMerchant();
    const [agg] = newAggregates(1) as [string];
    const badPayloadId = randomUUID();
    const badEnvelopeId = randomUUID();
    const envelope = (eventId: string, payload: unknown) => ({
      eventId,
      type: 'ticket.voided',
      schemaVersion: 1,
      occurredAt: new Date().toISOString(),
      merchantId: merchant,
      correlationId: randomUUID(),
      causationId: null,
      aggregateType: 'order',
      aggregateId: agg,
      payload,
    });
    const producer = await rawProducer(kafka);
    try {
      await producer.send({
        topic: topic.name,
        acks: -1,
        messages: [
          { key: agg, value: '{"not json', headers: { [HEADERS.eventType]: 'ticket.voided' } },
          { key: agg, value: JSON.stringify({ ...envelope(badEnvelopeId, {}), aggregateId: '', extra: 1 }) },
          { key: agg, value: JSON.stringify(envelope(badPayloadId, { ticketId: 42, orderId: agg })) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const [valid] = await writeEvents(db.ds, merchant, agg, 1);
    if (!valid) throw new Error('write failed');

    await waitFor('the valid event after the invalid ones', async () => (await effectCount(group)) >= 1);
    const [effect] = await effects(db.ds, group);
    expect(effect?.event_id).toBe(valid.eventId);

    const dlq = await dlqRecords(topic, 3);
    expect(dlq).toHaveLength(3);
    const errors = dlq.map((r) => header(r.message, HEADERS.dlqError) ?? '');
    expect(errors[0]).toBe('value is not JSON');
    expect(errors[1]).toMatch(/^envelope: /);
    expect(errors[2]).toMatch(/^payload: /);
    for (const r of dlq) {
      expect(header(r.message, HEADERS.dlqAttempts)).toBe('0'); // at once, no retries
      expect(header(r.message, HEADERS.dlqSourceTopic)).toBe(topic.name);
      expect(header(r.message, HEADERS.dlqConsumerGroup)).toBe(group);
      expect(r.message.key?.toString()).toBe(agg);
    }
    expect(dlq.map((r) => header(r.message, HEADERS.dlqSourceOffset))).toEqual(['0', '1', '2']);
    expect(dlq[0]?.message.value?.toString()).toBe('{"not json'); // original bytes kept

    // the handler never saw them; envelopes with a usable event id are recorded dead_lettered
    expect(consumer.calls.size).toBe(1);
    expect(await inboxRow(group, badPayloadId)).toMatchObject({ status: 'dead_lettered', attempts: 0 });
    expect(await inboxRow(group, badEnvelopeId)).toMatchObject({ status: 'dead_lettered', attempts: 0 });
    expect(await inboxRow(group, valid.eventId)).toMatchObject({ status: 'processed', attempts: 1 });
  });

  it('(e) replayDeadLetters after the fix: processed exactly once; a second replay replays nothing', async () => {
    const { topic, consumers } = await pipeline();
    const consumer = consumers[0] as TestConsumer;
    const group = groupOf(consumer);
    const merchant = newMerchant();
    const [agg] = newAggregates(1) as [string];
    await writeEvents(db.ds, merchant, agg, 1);
    const [poison] = await writeEvents(db.ds, merchant, agg, 1, { poison: true });
    await writeEvents(db.ds, merchant, agg, 1);
    if (!poison) throw new Error('write failed');
    await waitFor(
      'dead letter published',
      async () =>
        (await countWhere(db.ds, `SELECT count(*) AS n FROM outbox_published WHERE topic = $1`, [topic.dlq])) === 1,
    );
    expect(await effectCount(group)).toBe(2);

    consumer.state.broken = false; // "deploy the fix"
    const first = await replayDeadLetters({
      kafka,
      logger,
      dlqTopic: topic.dlq,
      consumerGroup: group,
      idleTimeoutMs: 10_000,
    });
    expect(first).toEqual({ replayed: 1, skipped: 0 });

    await waitFor('the replayed event processed', async () => (await effectCount(group)) >= 3);
    await new Promise((r) => setTimeout(r, 1500)); // a second effect would show up now
    const rows = await effects(db.ds, group);
    expect(rows.filter((r) => r.event_id === poison.eventId)).toHaveLength(1);
    expect(seqsByAggregate(rows)).toEqual(new Map([[agg, [1, 3, 2]]])); // replayed after the rest
    expect(await inboxRow(group, poison.eventId)).toMatchObject({ status: 'processed', error: null });
    const onTopic = await readAll(kafka, topic.name);
    const replayed = onTopic.filter((r) => header(r.message, 'replayed-from') !== undefined);
    expect(replayed).toHaveLength(1);
    expect(header(replayed[0]!.message, 'replayed-from')).toBe(`${topic.dlq}:0:0`);
    // same key, same partitioner: back on the partition it was dead-lettered from
    expect(replayed[0]!.partition).toBe((await inboxRow(group, poison.eventId))?.kafka_partition);
    expect(Object.keys(replayed[0]!.message.headers ?? {}).filter((k) => k.startsWith('dlq-'))).toEqual([]);

    const second = await replayDeadLetters({
      kafka,
      logger,
      dlqTopic: topic.dlq,
      consumerGroup: group,
      idleTimeoutMs: 5_000,
    });
    expect(second).toEqual({ replayed: 0, skipped: 0 });
    await new Promise((r) => setTimeout(r, 1000));
    expect((await readAll(kafka, topic.name)).length).toBe(onTopic.length);
    expect((await effects(db.ds, group)).filter((r) => r.event_id === poison.eventId)).toHaveLength(1);
  });

  it('(e) replay filtered by consumer group does not swallow other groups’ dead letters', async () => {
    // Two services on one topic, each dead-letters a different event. The operator replays for
    // one group, then for the other: the second replay must still find the other group's record.
    const { topic, consumers } = await pipeline(2);
    const [c1, c2] = consumers as [TestConsumer, TestConsumer];
    c1.state.poisonPrefix = 'poison-one';
    c2.state.poisonPrefix = 'poison-two';
    const merchant = newMerchant();
    const [agg] = newAggregates(1) as [string];
    const [e1] = await writeEvents(db.ds, merchant, agg, 1, { poison: 'poison-one' });
    const [e2] = await writeEvents(db.ds, merchant, agg, 1, { poison: 'poison-two' });
    if (!e1 || !e2) throw new Error('write failed');
    await waitFor(
      'both dead letters published',
      async () =>
        (await countWhere(db.ds, `SELECT count(*) AS n FROM outbox_published WHERE topic = $1`, [topic.dlq])) === 2,
    );
    c1.state.broken = false;
    c2.state.broken = false;

    const r1 = await replayDeadLetters({
      kafka,
      logger,
      dlqTopic: topic.dlq,
      consumerGroup: groupOf(c1),
      idleTimeoutMs: 10_000,
    });
    expect(r1).toEqual({ replayed: 1, skipped: 1 });
    const r2 = await replayDeadLetters({
      kafka,
      logger,
      dlqTopic: topic.dlq,
      consumerGroup: groupOf(c2),
      idleTimeoutMs: 10_000,
    });
    expect(r2).toEqual({ replayed: 1, skipped: 1 });
    await waitFor(
      'group two processed its event after the replay',
      async () => (await inboxRow(groupOf(c2), e2.eventId))?.status === 'processed',
    );
  });
});
