/**
 * A Kafka consumer that kafkajs gives up on is replaced, on the real broker: kafkajs restarts its
 * consumer only after crashes it knows to be retriable. Here the crash is made deterministic: a
 * member of another protocol holds the group, so the EventConsumer's join is refused with
 * INCONSISTENT_GROUP_PROTOCOL (not retriable: kafkajs stops for good). Once that member leaves,
 * the EventConsumer must consume again, every event exactly once.
 */
import { AssignerProtocol, type Kafka } from 'kafkajs';
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
  relayKafka,
  seqsByAggregate,
  SOURCE_TOPIC,
  startConsumer,
  uid,
  waitFor,
  writeConcurrently,
  type TestDb,
  cleanupAfterEach,
} from './harness';

jest.setTimeout(90_000);

describe('EventConsumer after a crash kafkajs does not restart from', () => {
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

  it('is replaced by a new consumer of its group and then applies every event once, in order', async () => {
    const topic = await createTestTopic(kafka);
    cleanup.push(() => topic.remove());
    const group = `it-crash-${uid()}`;

    // A member with another assignment protocol takes the group first.
    const other = kafka.consumer({
      groupId: group,
      sessionTimeout: 10_000,
      partitionAssigners: [
        () => ({
          name: 'AnotherProtocol',
          version: 1,
          protocol: ({ topics }: { topics: string[] }) => ({
            name: 'AnotherProtocol',
            metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
          }),
          assign: async ({ members }: { members: { memberId: string }[] }) =>
            members.map((m) => ({
              memberId: m.memberId,
              memberAssignment: AssignerProtocol.MemberAssignment.encode({
                version: 1,
                assignment: {},
                userData: Buffer.alloc(0),
              }),
            })),
        }),
      ],
    });
    let otherConnected = true;
    cleanup.push(() => (otherConnected ? other.disconnect() : Promise.resolve()));
    await other.connect();
    await other.subscribe({ topics: [topic.name], fromBeginning: true });
    const joined = new Promise<void>((resolve) => other.on(other.events.GROUP_JOIN, () => resolve()));
    await other.run({ eachMessage: async () => undefined });
    await joined;

    const consumer = await startConsumer(kafka, db.ds, group, [topic.name]);
    cleanup.push(() => consumer.stop());
    const restarts = async () =>
      (await consumer.metrics.consumerRestarts.get()).values.reduce((n, v) => n + v.value, 0);
    await waitFor(
      'the EventConsumer crashed for good and is being replaced',
      async () => (await restarts()) >= 1,
      30_000,
    );

    const relay = newRelay(db, relayKafka(kafka, { [SOURCE_TOPIC]: topic.name }));
    await relay.start();
    cleanup.push(() => relay.stop());
    const written = await writeConcurrently(db.ds, newMerchant(), newAggregates(4), 60, 2);

    // Nothing can be consumed while the other member holds the group; then it leaves.
    await other.disconnect();
    otherConnected = false;
    await waitFor(
      'every event applied by the replacement consumer',
      async () =>
        (await countWhere(db.ds, `SELECT count(*) AS n FROM it_effect WHERE consumer_group = $1`, [group])) >=
        written.length,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1500)); // a second effect would show up now
    const rows = await effects(db.ds, group);
    expect(rows).toHaveLength(written.length);
    expect(seqsByAggregate(rows)).toEqual(expectedSeqs(written));
  });
});
