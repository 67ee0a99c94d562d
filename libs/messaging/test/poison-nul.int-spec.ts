/**
 * A record PostgreSQL cannot store as text (NUL bytes in its value, key or headers) must still
 * reach the dead-letter topic and must not block its partition.
 */
import type { Kafka } from 'kafkajs';
import {
  countWhere,
  createTestDb,
  createTestTopic,
  header,
  newAggregates,
  newKafka,
  newMerchant,
  newRelay,
  rawProducer,
  readTopic,
  relayKafka,
  SOURCE_TOPIC,
  startConsumer,
  uid,
  waitFor,
  writeEvents,
  type TestDb,
} from './harness';

jest.setTimeout(60_000);

describe('poison records with NUL bytes', () => {
  let db: TestDb;
  let kafka: Kafka;
  const cleanup: (() => Promise<unknown>)[] = [];
  beforeAll(async () => {
    db = await createTestDb();
    kafka = newKafka();
  });
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => undefined);
    await db.drop();
  });

  it('are dead-lettered with the NUL replaced and flagged, and the partition moves on', async () => {
    const topic = await createTestTopic(kafka);
    cleanup.push(() => topic.remove());
    const relay = newRelay(db, relayKafka(kafka, { [SOURCE_TOPIC]: topic.name }));
    await relay.start();
    cleanup.push(() => relay.stop());
    const consumer = await startConsumer(kafka, db.ds, `it-nul-${uid()}`, [topic.name]);
    cleanup.push(() => consumer.stop());

    const merchant = newMerchant();
    const [agg] = newAggregates(1) as [string];
    const producer = await rawProducer(kafka);
    cleanup.push(() => producer.disconnect());
    const marker = `nul-${uid()}`;
    await producer.send({
      topic: topic.name,
      acks: -1,
      messages: [
        {
          key: agg,
          value: `${marker}\u0000garbage`,
          headers: { 'event-type': 'ticket.voided\u0000', [`x-${marker}`]: 'a\u0000b' },
        },
      ],
    });
    const [after] = await writeEvents(db.ds, merchant, agg, 1);
    if (!after) throw new Error('write failed');

    await waitFor(
      'the event after the poison record',
      async () =>
        (await countWhere(db.ds, 'SELECT count(*) AS n FROM it_effect WHERE event_id = $1', [after.eventId])) === 1,
    );
    const dlq = await readTopic(kafka, topic.dlq, (m) =>
      m.some((r) => r.message.value?.toString('utf8').startsWith(marker)),
    );
    const record = dlq.find((r) => r.message.value?.toString('utf8').startsWith(marker));
    expect(record?.message.value?.toString('utf8')).toBe(`${marker}\uFFFDgarbage`);
    expect(header(record!.message, 'dlq-sanitized')).toMatch(/NUL/);
    expect(header(record!.message, `x-${marker}`)).toBe('a\uFFFDb');
    expect(header(record!.message, 'dlq-consumer-group')).toBe(consumer.group);
  });
});
