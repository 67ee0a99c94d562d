import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type Admin, type IHeaders, type KafkaMessage, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { dlqTopic, envelopeSchema, HEADERS, payloadSchema, TOPICS } from '@admit/contracts';
import { createKafka, createLogger, EventConsumer, MESSAGING_DDL_UP, messagingMetrics } from '@admit/messaging';
import { call, eventually, paymentCode, REPO_ROOT, startStack, type Stack } from '@admit/testing';

/**
 * Poison records on the real `payments` topic, in front of a real sale's payment.succeeded on
 * the same partition: each consumer group of the stack dead-letters them (payments.dlq with the
 * dlq-* headers, inbox `dead_lettered` where they carry an event id), the real order is still
 * fulfilled, and the replay CLI (dry run) lists them.
 *
 * The payment id (the record key) is made by the service at capture, so no test can produce a
 * record under the key of a payment that does not exist yet. Instead a poison set is produced on
 * EVERY partition of `payments`, under keys chosen with the same Java-compatible partitioner;
 * whichever partition the real payment lands on, the poison sits ahead of it there, which the test
 * checks with the offsets (the inbox row of the real event has a higher offset, same partition).
 *
 * The last test runs the idempotent consumer alone on a private topic: records whose bytes
 * cannot be stored in the dead-letter outbox (a NUL byte) must not block their partition. It never
 * touches the shared topics: a record that blocks a partition there would block every stack's
 * consumer groups (and every new group, which reads from the beginning) until retention.
 */

jest.setTimeout(180_000);

const BROKERS = [process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092'];
const STACK_NAME = 'e2e_dlq';
const GROUPS: Record<'ticketing' | 'reporting', string> = {
  ticketing: `${STACK_NAME}.ticketing`,
  reporting: `${STACK_NAME}.reporting`,
};

type Poison = {
  kind: 'not-json' | 'bad-payload' | 'bad-envelope' | 'unknown-version';
  key: string;
  value: string;
  headers: Record<string, string>;
  eventId: string | null;
  partition: number;
  offset: string;
  /** What the consumer writes into dlq-error. */
  error: RegExp;
};

function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v[0] : v)?.toString();
}

/** Reads a topic from the beginning with a throwaway group until `enough` holds or time runs out. */
async function readTopic(
  kafka: Kafka,
  topic: string,
  keep: (m: KafkaMessage) => boolean,
  enough: (found: { partition: number; message: KafkaMessage }[]) => boolean,
  timeoutMs: number,
): Promise<{ partition: number; message: KafkaMessage }[]> {
  const groupId = `e2e-dlq-reader-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  const found: { partition: number; message: KafkaMessage }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (keep(message)) found.push({ partition, message });
      },
    });
    const until = Date.now() + timeoutMs;
    while (!enough(found) && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect();
  }
  return found;
}

type CliRun = { code: number | null; lines: any[]; stderr: string };

function runReplayCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/libs/messaging/src/cli/replay-dlq.js'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, KAFKA_BROKERS: BROKERS.join(','), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      const lines = out
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return { unparsed: l };
          }
        });
      resolve({ code, lines, stderr: err });
    });
  });
}

describe('dead letters on the payments topic', () => {
  let stack: Stack;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let merchant: { id: string; key: string };
  let orderId: string;
  let paymentId: string;
  const marker = `e2e-dlq-${randomBytes(6).toString('hex')}`;
  const poison: Poison[] = [];
  let dlq: { partition: number; message: KafkaMessage }[] = [];

  beforeAll(async () => {
    stack = await startStack({ name: STACK_NAME, portBase: 16100 });
  }, 180_000);

  beforeAll(async () => {
    kafka = new Kafka({ clientId: `e2e-dlq-${marker}`, brokers: BROKERS, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    const { urls, acquirerKey } = stack;
    const m = await call('POST', `${urls.payment}/v1/merchants`, {
      key: acquirerKey,
      body: {
        name: 'Dead Letter Zoo',
        country: 'CN',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7991',
        settlementCurrency: 'CNY',
      },
    });
    expect(m.status).toBe(201);
    merchant = { id: m.body.id, key: m.body.apiKey.secret };
    const attraction = await eventually(
      () =>
        call('POST', `${urls.ticketing}/v1/attractions`, {
          key: merchant.key,
          body: { name: 'Dead Letter Zoo', city: 'Hangzhou', timezone: 'Asia/Shanghai' },
        }),
      (r) => r.status !== 401,
      45_000,
    );
    expect(attraction.status).toBe(201);
    const product = await call('POST', `${urls.ticketing}/v1/attractions/${attraction.body.id}/products`, {
      key: merchant.key,
      body: {
        name: 'Adult',
        kind: 'admission',
        price: { value: 8800, currency: 'CNY' },
        entry: { maxEntries: 1, validity: 'day' },
        requiresSlot: false,
      },
    });
    expect(product.status).toBe(201);
    const order = await call('POST', `${urls.ticketing}/v1/orders`, {
      key: merchant.key,
      body: { channel: 'counter', items: [{ productId: product.body.id, quantity: 1 }] },
    });
    expect(order.status).toBe(201);
    orderId = order.body.id;
  }, 120_000);

  afterAll(async () => {
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await stack?.stop();
  });

  it('poison on every partition of payments → payments.dlq with dlq-* headers, inbox dead_lettered, and the real order is still fulfilled', async () => {
    const { urls } = stack;
    const [meta] = (await admin.fetchTopicMetadata({ topics: [TOPICS.payments.name] })).topics;
    const partitionMetadata = meta?.partitions ?? [];
    expect(partitionMetadata.length).toBe(TOPICS.payments.partitions);
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionOf = (key: string) =>
      partitioner({ topic: TOPICS.payments.name, partitionMetadata, message: { key, value: null } });

    // One key per partition, shaped like a payment id, found with the producers' partitioner.
    const keys: string[] = [];
    for (let p = 0; p < partitionMetadata.length; p += 1) {
      let i = 0;
      const keyOf = (n: number) => `pay_${marker.replace(/[^a-z0-9]/g, '')}${n}`;
      while (partitionOf(keyOf(i)) !== p) i += 1;
      keys.push(keyOf(i));
    }

    const now = new Date().toISOString();
    const envelope = (key: string, over: Record<string, unknown>): Record<string, any> => ({
      eventId: randomUUID(),
      type: 'payment.succeeded',
      schemaVersion: 1,
      occurredAt: now,
      merchantId: merchant.id,
      correlationId: marker,
      causationId: null,
      aggregateType: 'payment',
      aggregateId: key,
      ...over,
    });
    for (const [p, key] of keys.entries()) {
      const badPayload = envelope(key, {
        payload: {
          paymentId: key,
          orderId,
          merchantId: merchant.id,
          amount: { value: 'a lot', currency: 'CNY' },
          marker,
        },
      });
      const unknownVersion = envelope(key, {
        schemaVersion: 999,
        payload: { paymentId: key, orderId, merchantId: merchant.id, marker },
      });
      const badEnvelope = { eventId: randomUUID(), type: 'payment.succeeded', marker, payload: {} };
      // The records really are what they claim to be.
      expect(envelopeSchema.safeParse(badPayload).success).toBe(true);
      expect(payloadSchema('payment.succeeded', 1)?.safeParse(badPayload.payload).success).toBe(false);
      expect(envelopeSchema.safeParse(unknownVersion).success).toBe(true);
      expect(envelopeSchema.safeParse(badEnvelope).success).toBe(false);
      const set: Omit<Poison, 'partition' | 'offset'>[] = [
        {
          kind: 'not-json',
          key,
          value: `\u00ff<not json> ${marker} p${p} {"eventId":`,
          headers: { 'x-e2e-marker': marker, [HEADERS.eventType]: 'payment.succeeded' },
          eventId: null,
          error: /value is not JSON/,
        },
        {
          kind: 'bad-payload',
          key,
          value: JSON.stringify(badPayload),
          headers: {
            'x-e2e-marker': marker,
            [HEADERS.eventId]: badPayload.eventId,
            [HEADERS.eventType]: 'payment.succeeded',
          },
          eventId: badPayload.eventId,
          error: /^payload:/,
        },
        {
          kind: 'bad-envelope',
          key,
          value: JSON.stringify(badEnvelope),
          headers: { 'x-e2e-marker': marker },
          eventId: badEnvelope.eventId,
          error: /^envelope:/,
        },
        {
          kind: 'unknown-version',
          key,
          value: JSON.stringify(unknownVersion),
          headers: { 'x-e2e-marker': marker, [HEADERS.schemaVersion]: '999' },
          eventId: unknownVersion.eventId,
          error: /unknown schema payment\.succeeded v999/,
        },
      ];
      for (const r of set) {
        const [meta0] = await producer.send({
          topic: TOPICS.payments.name,
          acks: -1,
          messages: [{ key: r.key, value: r.value, headers: r.headers }],
        });
        expect(meta0?.partition).toBe(p);
        poison.push({ ...r, partition: meta0?.partition as number, offset: String(meta0?.baseOffset) });
      }
    }

    // The real sale, after the poison.
    const payment = await call('POST', `${urls.payment}/v1/payments`, {
      key: merchant.key,
      body: { orderId, amount: { value: 8800, currency: 'CNY' }, paymentCode: paymentCode('0088') },
    });
    expect(payment.status).toBe(201);
    expect(payment.body.status).toBe('succeeded');
    paymentId = payment.body.id;
    const fulfilled = await eventually(
      () => call('GET', `${urls.ticketing}/v1/orders/${orderId}`, { key: merchant.key }),
      (r) => r.body?.status === 'fulfilled',
      90_000,
      500,
    );
    expect(fulfilled.body.tickets).toHaveLength(1);

    // The real event sat behind this partition's poison: same partition, higher offset.
    const [outboxRow] = await stack.query<{ event_id: string }>(
      'payment',
      `SELECT event_id FROM outbox_events WHERE topic = $1 AND message_key = $2 AND value::jsonb->>'type' = 'payment.succeeded'`,
      [TOPICS.payments.name, paymentId],
    );
    expect(outboxRow).toBeDefined();
    const [real] = await stack.query<{ kafka_partition: number; kafka_offset: string; status: string }>(
      'ticketing',
      `SELECT kafka_partition, kafka_offset::text, status FROM inbox WHERE consumer_group = $1 AND event_id = $2`,
      [GROUPS.ticketing, outboxRow?.event_id],
    );
    expect(real?.status).toBe('processed');
    expect(real?.kafka_partition).toBe(partitionOf(paymentId));
    const ahead = poison.filter((x) => x.partition === real?.kafka_partition);
    expect(ahead).toHaveLength(4);
    for (const x of ahead) expect(BigInt(x.offset)).toBeLessThan(BigInt(real?.kafka_offset as string));

    // Inbox: every poison record with an event id is dead_lettered, in both consumer groups.
    const withId = poison.filter((x) => x.eventId);
    for (const [svc, group] of Object.entries(GROUPS) as ['ticketing' | 'reporting', string][]) {
      const rows = await eventually(
        () =>
          stack.query<{
            event_id: string;
            status: string;
            error: string;
            kafka_partition: number;
            kafka_offset: string;
          }>(
            svc,
            `SELECT event_id, status, error, kafka_partition, kafka_offset::text FROM inbox
              WHERE consumer_group = $1 AND event_id = ANY($2::uuid[])`,
            [group, withId.map((x) => x.eventId)],
          ),
        (r) => r.length === withId.length,
        60_000,
        500,
      );
      for (const x of withId) {
        const row = rows.find((r) => r.event_id === x.eventId);
        expect({ group, kind: x.kind, status: row?.status }).toEqual({ group, kind: x.kind, status: 'dead_lettered' });
        expect(row?.error).toMatch(x.error);
        expect([row?.kafka_partition, row?.kafka_offset]).toEqual([x.partition, x.offset]);
      }
    }
    // The not-JSON ones have no event id: no inbox row could name them.

    // payments.dlq: each poison record once per consumer group, key/value/headers kept, dlq-* added.
    const expected = poison.length * Object.keys(GROUPS).length;
    dlq = await readTopic(
      kafka,
      dlqTopic(TOPICS.payments.name),
      (m) =>
        headerText(m.headers, 'x-e2e-marker') === marker &&
        Object.values(GROUPS).includes(headerText(m.headers, HEADERS.dlqConsumerGroup) ?? ''),
      (found) => found.length >= expected,
      90_000,
    );
    expect(dlq.length).toBe(expected);
    for (const x of poison) {
      for (const group of Object.values(GROUPS)) {
        const hits = dlq.filter(
          ({ message }) =>
            headerText(message.headers, HEADERS.dlqConsumerGroup) === group &&
            headerText(message.headers, HEADERS.dlqSourceOffset) === x.offset &&
            headerText(message.headers, HEADERS.dlqSourcePartition) === String(x.partition),
        );
        expect({ group, kind: x.kind, copies: hits.length }).toEqual({ group, kind: x.kind, copies: 1 });
        const m = hits[0]?.message as KafkaMessage;
        expect(m.key?.toString()).toBe(x.key);
        expect(m.value?.toString()).toBe(x.value);
        expect(headerText(m.headers, HEADERS.dlqSourceTopic)).toBe(TOPICS.payments.name);
        expect(headerText(m.headers, HEADERS.dlqError)).toMatch(x.error);
        expect(headerText(m.headers, HEADERS.dlqAttempts)).toBe('0');
        for (const [k, v] of Object.entries(x.headers)) expect(headerText(m.headers, k)).toBe(v);
      }
    }

    // Nothing of the poison reached the ledger: the day's totals are the real sale only.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    const daily = await eventually(
      () =>
        call('GET', `${urls.reporting}/v1/reports/daily?date=${today}&merchantId=${merchant.id}`, {
          key: stack.acquirerKey,
        }),
      (r) => r.body?.totals?.[0]?.paymentCount === 1,
      60_000,
      500,
    );
    expect(daily.body.totals).toEqual([
      expect.objectContaining({ currency: 'CNY', gross: { value: 8800, currency: 'CNY' }, paymentCount: 1 }),
    ]);
  });

  it('the replay CLI (--dry-run) lists them, per consumer group too, and publishes and commits nothing', async () => {
    expect(dlq.length).toBeGreaterThan(0);
    const ours = (group?: string) =>
      dlq
        .filter(({ message }) => !group || headerText(message.headers, HEADERS.dlqConsumerGroup) === group)
        .map(({ partition, message }) => `${partition}:${message.offset}`);
    const logged = (run: CliRun) =>
      new Map(
        run.lines
          .filter((l) => l.msg === 'dead letter')
          .map((l) => [
            `${l.partition}:${l.offset}`,
            l as { replayed: boolean; dryRun: boolean; group: string; source: string },
          ]),
      );

    const all = await runReplayCli([
      '--topic',
      dlqTopic(TOPICS.payments.name),
      '--dry-run',
      '--idle-timeout-ms',
      '30000',
    ]);
    expect({ code: all.code, stderr: all.stderr.slice(0, 2000) }).toEqual({ code: 0, stderr: '' });
    const result = all.lines[all.lines.length - 1];
    expect(result).toEqual({ replayed: expect.any(Number), skipped: expect.any(Number) });
    expect(result.replayed).toBeGreaterThanOrEqual(ours().length);
    const seen = logged(all);
    for (const at of ours()) {
      expect({ at, ...seen.get(at) }).toMatchObject({ at, replayed: true, dryRun: true, source: TOPICS.payments.name });
    }

    // Filtered to one consumer group: its dead letters would be replayed, the other group's skipped.
    const one = await runReplayCli([
      '--topic',
      dlqTopic(TOPICS.payments.name),
      '--group',
      GROUPS.ticketing,
      '--dry-run',
      '--idle-timeout-ms',
      '30000',
    ]);
    expect(one.code).toBe(0);
    const seenOne = logged(one);
    for (const at of ours(GROUPS.ticketing))
      expect({ at, replayed: seenOne.get(at)?.replayed }).toEqual({ at, replayed: true });
    for (const at of ours(GROUPS.reporting))
      expect({ at, replayed: seenOne.get(at)?.replayed }).toEqual({ at, replayed: false });

    // A dry run commits no replay offsets (a later real replay still finds everything).
    for (const groupId of [`dlq-replay.${dlqTopic(TOPICS.payments.name)}.${GROUPS.ticketing}`]) {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [dlqTopic(TOPICS.payments.name)] });
      for (const p of committed?.partitions ?? [])
        expect({ groupId, offset: p.offset }).toEqual({ groupId, offset: '-1' });
    }
    // And it published nothing: the poison is still dead_lettered, never processed.
    const [row] = await stack.query<{ n: string }>(
      'ticketing',
      `SELECT count(*)::text AS n FROM inbox WHERE consumer_group = $1 AND event_id = ANY($2::uuid[]) AND status <> 'dead_lettered'`,
      [GROUPS.ticketing, poison.filter((x) => x.eventId).map((x) => x.eventId)],
    );
    expect(row?.n).toBe('0');
  });
});

describe('dead letters the outbox cannot store (private topic, the idempotent consumer alone)', () => {
  it('a record with a NUL byte in its value, a header or its key is dead-lettered and its partition moves on', async () => {
    const uid = randomBytes(4).toString('hex');
    const topic = `e2e.dlq-nul.${uid}`;
    const dbName = `admit_e2e_dlq_nul_${uid}`;
    const log = createLogger('e2e-dlq-nul', process.env['DLQ_NUL_LOG_LEVEL'] ?? 'silent');
    const kafka = createKafka({ brokers: BROKERS, clientId: `e2e-dlq-nul-${uid}` }, log);
    const admin = kafka.admin();
    await admin.connect();
    const pgAdmin = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
    await pgAdmin.connect();
    let ds: DataSource | null = null;
    let consumer: EventConsumer | null = null;
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          { topic, numPartitions: 4 },
          { topic: dlqTopic(topic), numPartitions: 1 },
        ],
      });
      await pgAdmin.query(`CREATE DATABASE "${dbName}"`);
      ds = new DataSource({ type: 'postgres', url: `postgres://postgres@127.0.0.1:5432/${dbName}`, entities: [] });
      await ds.initialize();
      for (const sql of MESSAGING_DDL_UP) await ds.query(sql);
      await ds.query('CREATE TABLE seen (payment_id text NOT NULL)');
      const db = ds;
      consumer = new EventConsumer({
        kafka,
        dataSource: db,
        groupId: `e2e.dlq-nul.${uid}`,
        topics: [topic],
        handlers: {
          'payment.succeeded': async (p, { manager }) => {
            await manager.query('INSERT INTO seen (payment_id) VALUES ($1)', [p.paymentId]);
          },
        },
        logger: log,
        metrics: messagingMetrics(new Registry()),
        maxAttempts: 2,
      });
      await consumer.start();
      await producer.connect();

      const valid = (paymentId: string) => {
        const payload = {
          paymentId,
          orderId: 'ord_0000000000000000000000000',
          merchantId: 'mch_0000000000000000000000000',
          amount: { value: 100, currency: 'CNY' },
          wallet: 'alipay',
          walletTransactionId: '2026000000000000',
          partnerTransId: paymentId,
          paidAt: new Date().toISOString(),
          exchangeRate: null,
          settlementAmount: null,
        };
        expect(payloadSchema('payment.succeeded', 1)?.safeParse(payload).success).toBe(true);
        return JSON.stringify({
          eventId: randomUUID(),
          type: 'payment.succeeded',
          schemaVersion: 1,
          occurredAt: new Date().toISOString(),
          merchantId: payload.merchantId,
          correlationId: 'e2e-dlq-nul',
          causationId: null,
          aggregateType: 'payment',
          aggregateId: paymentId,
          payload,
        });
      };
      const cases = [
        {
          partition: 0,
          what: 'a NUL byte in the value',
          poison: { key: 'k0', value: Buffer.from('not json\u0000at all', 'utf8') },
        },
        {
          partition: 1,
          what: 'a NUL byte in a header',
          poison: { key: 'k1', value: 'not json', headers: { 'x-trace': Buffer.from([0x61, 0x00, 0x62]) } },
        },
        {
          partition: 2,
          what: 'a NUL byte in the key',
          poison: { key: Buffer.from([0x6b, 0x00, 0x32]), value: 'not json' },
        },
      ];
      for (const c of cases) {
        await producer.send({ topic, acks: -1, messages: [{ ...c.poison, partition: c.partition }] });
        await producer.send({
          topic,
          acks: -1,
          messages: [{ key: `after-${c.partition}`, value: valid(`pay_after_${c.partition}`), partition: c.partition }],
        });
      }
      // Control: a partition without poison. If this one is not processed, the consumer itself is broken.
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: 'control', value: valid('pay_control'), partition: 3 }],
      });
      const deadline = Date.now() + 30_000;
      let seen: string[] = [];
      while (Date.now() < deadline) {
        seen = ((await db.query('SELECT payment_id FROM seen ORDER BY payment_id')) as { payment_id: string }[]).map(
          (r) => r.payment_id,
        );
        if (seen.length === cases.length + 1) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const blocked = cases
        .filter((c) => !seen.includes(`pay_after_${c.partition}`))
        .map((c) => `partition ${c.partition} (${c.what})`);
      expect(seen).toContain('pay_control');
      expect({ blocked }).toEqual({ blocked: [] });
      const [dead] = (await db.query(`SELECT count(*)::int AS n FROM outbox WHERE topic = $1`, [dlqTopic(topic)])) as {
        n: number;
      }[];
      expect(dead?.n).toBe(cases.length);
    } finally {
      await producer.disconnect().catch(() => undefined);
      await consumer?.stop().catch(() => undefined);
      await ds?.destroy().catch(() => undefined);
      await pgAdmin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch(() => undefined);
      await pgAdmin.end().catch(() => undefined);
      await admin.deleteTopics({ topics: [topic, dlqTopic(topic)] }).catch(() => undefined);
      await admin.deleteGroups([`e2e.dlq-nul.${uid}`]).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    }
  }, 120_000);
});
