/**
 * Promotions benchmark (issue 5): coupon reserve and redeem driven through the saga's own events.
 *
 * A private broker and the e2e stack (startStack); a merchant onboarded through payment; a `code`
 * campaign. The bench publishes `order.placed` (with the code) at a fixed rate on `orders`, exactly
 * as ticketing's outbox relay would, and reads promotions' answers (`coupon.reserved`) off the
 * `coupons` topic: latency = publish → answer seen on the topic (includes promotions' inbox
 * transaction and its outbox relay). Then `order.fulfilled` for the same orders → `coupon.redeemed`.
 * Side by side: pgbench doing the same atomic step on one campaign row (lock, conditional counter
 * UPDATE, coupon row written, answer row) and the redeem (conditional coupon UPDATE).
 *
 * First, the order → coupon reserved → amount due round trip: ticketing's POST /v1/orders with a
 * couponCode (ticketing answers once promotions' coupon.reserved has priced the order).
 *
 * env: BENCH_PROMO_RATE (2000/s: the target rate, offered open loop), BENCH_PROMO_ORDERS (7500), BENCH_PG_SECONDS (8), BENCH_KAFKA_BROKERS.
 * Writes bench/results/promotions-<ISO>.json and promotions-latest.json.
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { newId, type EventPayload } from '@admit/contracts';
import type { Stack } from '@admit/testing';
import { repoRoot } from '../backbone/common';
import { pidListeningOn, RssSampler } from '../payment/proc';
import { loadStackModule } from '../payment/stack';
import { pgbench, type PgbenchResult } from '../payment/tools';
import {
  envelope,
  percentiles,
  postJson,
  r1,
  say,
  startBroker,
  stopBroker,
  until,
  writeResults,
  type Broker,
  type KafkaMessage,
  type Percentiles,
} from './kit';

const num = (name: string, def: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};
const RATE = num('BENCH_PROMO_RATE', 2000);
const ORDERS = num('BENCH_PROMO_ORDERS', 7500);
const PG_SECONDS = num('BENCH_PG_SECONDS', 8);
const PORT_BASE = num('BENCH_PORT_BASE', 20300);
const PG = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432';
const RT_ORDERS = num('BENCH_PROMO_ROUNDTRIP_ORDERS', 600);
const RT_CONCURRENCY = num('BENCH_PROMO_ROUNDTRIP_CONCURRENCY', 8);
const TARGET = { perSecond: 2000, p95Ms: 20, roundTripP99Ms: 100 };

type Phase = {
  sent: number;
  answered: number;
  ratePerSec: number;
  offeredPerSec: number;
  latencyMs: Percentiles;
  dbRatePerSec: number | null;
  /** publish → promotions' transaction begins, and that → the answer is read off the topic. */
  hopsMs: { publishToTx: Percentiles; txToAnswerRead: Percentiles };
};

/** The answer transaction's start (ms since the epoch) per order, from `sql` (columns order_id, t). */
async function txStarts(database: string, sql: string, ids: string[]): Promise<Map<string, number>> {
  const rows = await query<{ order_id: string; t: string }>(database, sql, [ids]);
  return new Map(rows.map((r) => [r.order_id, Number(r.t)]));
}

/** Publishes `make(i)` for i < n at `rate`/s in 10 ms ticks; returns the send time per key. */
async function publishAtRate(
  producer: Producer,
  n: number,
  rate: number,
  make: (i: number) => { topic: string; message: KafkaMessage },
): Promise<{ sentAt: Map<string, number>; seconds: number }> {
  const sentAt = new Map<string, number>();
  const t0 = Date.now();
  let i = 0;
  const inflight: Promise<unknown>[] = [];
  while (i < n) {
    const due = Math.min(n, Math.floor(((Date.now() - t0) / 1000) * rate) + 1);
    if (due > i) {
      const byTopic = new Map<string, KafkaMessage[]>();
      for (; i < due; i++) {
        const e = make(i);
        sentAt.set(e.message.key, Date.now());
        byTopic.set(e.topic, [...(byTopic.get(e.topic) ?? []), e.message]);
      }
      inflight.push(
        producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) }),
      );
    }
    await new Promise((res) => setTimeout(res, 10));
  }
  await Promise.all(inflight);
  return { sentAt, seconds: (Date.now() - t0) / 1000 };
}

async function waitAnswers(seen: Map<string, number>, keys: string[], timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && keys.some((k) => !seen.has(k))) await new Promise((res) => setTimeout(res, 100));
}

/**
 * A phase's figures: publish → answer read per order (`seen`), and from `txAt` (each answer's
 * transaction start) the committed rate and the two hops either side of that transaction.
 */
function phase(
  sentAt: Map<string, number>,
  seen: Map<string, number>,
  offered: number,
  txAt: Map<string, number>,
): Phase {
  const lat: number[] = [];
  const toTx: number[] = [];
  const fromTx: number[] = [];
  let first = Infinity;
  let last = 0;
  for (const [k, t] of sentAt) {
    first = Math.min(first, t);
    const a = seen.get(k);
    if (a === undefined) continue;
    lat.push(a - t);
    last = Math.max(last, a);
    const x = txAt.get(k);
    if (x === undefined) continue;
    toTx.push(x - t);
    fromTx.push(a - x);
  }
  const tx = [...txAt.values()];
  const txSpan = tx.length > 1 ? (Math.max(...tx) - Math.min(...tx)) / 1000 : 0;
  return {
    sent: sentAt.size,
    answered: lat.length,
    ratePerSec: last > first ? r1(lat.length / ((last - first) / 1000)) : 0,
    offeredPerSec: offered,
    latencyMs: percentiles(lat),
    dbRatePerSec: txSpan > 0 ? r1(tx.length / txSpan) : null,
    hopsMs: { publishToTx: percentiles(toTx), txToAnswerRead: percentiles(fromTx) },
  };
}

type RoundTrip = {
  orders: number;
  concurrency: number;
  priced: number;
  statuses: Record<string, number>;
  ordersPerSec: number;
  latencyMs: Percentiles;
  /** Where the round trip's time goes, per order, from the rows' own timestamps (see `hops`). */
  hopsMs?: Record<string, Percentiles>;
};

/** One timed round trip: wall-clock ends (ms since the epoch) of a request that got an order id. */
type Timed = { orderId: string; sentAt: number; doneAt: number };

async function getJson(url: string, key: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
  return { status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> };
}

/** Ticketing's counter order with a coupon code, timed until it answers priced (awaiting_payment). */
async function ticketingRoundTrip(ticketing: string, key: string, timed: Timed[]): Promise<RoundTrip> {
  const att = await until(
    () =>
      postJson(`${ticketing}/v1/attractions`, key, {
        name: 'Bench Attraction',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
      }),
    (r) => r.status === 201,
    60_000,
    500,
  );
  const attractionId = att.body['id'] as string;
  const product = await postJson(`${ticketing}/v1/attractions/${attractionId}/products`, key, {
    name: 'Day ticket',
    kind: 'admission',
    price: { value: 10000, currency: 'CNY' },
    entry: { maxEntries: 1, validity: 'day' },
    requiresSlot: false,
  });
  if (product.status !== 201) throw new Error(`product: ${product.status} ${JSON.stringify(product.body)}`);
  const productId = product.body['id'] as string;
  const body = { channel: 'counter', items: [{ productId, quantity: 1 }], couponCode: 'BENCH-2026' };
  // warm-up (also lets promotions learn the attraction)
  for (let i = 0; i < 20; i++) await postJson(`${ticketing}/v1/orders`, key, body);
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  let priced = 0;
  let next = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < RT_ORDERS) {
      next++;
      const s = performance.now();
      const sentAt = Date.now();
      const r = await postJson(`${ticketing}/v1/orders`, key, body);
      let status = typeof r.body['status'] === 'string' ? r.body['status'] : String(r.status);
      // not priced within ticketing's wait: poll until it is (the round trip still counts)
      if (r.status === 201 && status === 'pricing') {
        const id = r.body['id'] as string;
        const done = await until(
          () => getJson(`${ticketing}/v1/orders/${id}`, key),
          (g) => g.body['status'] !== 'pricing',
          10_000,
          5,
        ).catch(() => undefined);
        status = `${typeof done?.body['status'] === 'string' ? done.body['status'] : 'pricing'} (after pricing)`;
        if (done?.body['status'] === 'awaiting_payment' && (done.body['discount'] as { value?: number })?.value)
          priced++;
      } else if (status === 'awaiting_payment' && (r.body['discount'] as { value?: number } | undefined)?.value)
        priced++;
      lat.push(performance.now() - s);
      if (typeof r.body['id'] === 'string') timed.push({ orderId: r.body['id'], sentAt, doneAt: Date.now() });
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: RT_CONCURRENCY }, worker));
  return {
    orders: lat.length,
    concurrency: RT_CONCURRENCY,
    priced,
    statuses,
    ordersPerSec: r1(lat.length / ((Date.now() - t0) / 1000)),
    latencyMs: percentiles(lat),
  };
}

/**
 * The round trip cut into four hops with the timestamps the services write anyway (all are
 * `now()`, the start of the writing transaction, on this machine's one clock):
 * - `requestToOrderTx`: HTTP request → ticketing's order transaction begins (orders.created_at);
 * - `orderTxToReserveTx`: → promotions' reserve transaction begins (coupon_answers.answered_at):
 *   ticketing's commit, its outbox relay, the broker, promotions' fetch and queue;
 * - `reserveTxToPricingTx`: → ticketing's pricing transaction begins (orders.updated_at): the
 *   same hops back;
 * - `pricingTxToResponse`: → the response is read (commit, wake-up, re-read, HTTP).
 */
async function hops(timed: Timed[], ticketingDb: string, promotionsDb: string): Promise<Record<string, Percentiles>> {
  const ids = timed.map((t) => t.orderId);
  const orders = await query<{ id: string; c: string; u: string }>(
    ticketingDb,
    `SELECT id, (extract(epoch FROM created_at) * 1000)::float8 AS c, (extract(epoch FROM updated_at) * 1000)::float8 AS u
       FROM orders WHERE id = ANY($1)`,
    [ids],
  );
  const answers = await query<{ order_id: string; a: string }>(
    promotionsDb,
    `SELECT order_id, (extract(epoch FROM answered_at) * 1000)::float8 AS a FROM coupon_answers WHERE order_id = ANY($1)`,
    [ids],
  );
  const byOrder = new Map(orders.map((o) => [o.id, { c: Number(o.c), u: Number(o.u) }]));
  const answeredAt = new Map(answers.map((a) => [a.order_id, Number(a.a)]));
  const h: Record<string, number[]> = {
    requestToOrderTx: [],
    orderTxToReserveTx: [],
    reserveTxToPricingTx: [],
    pricingTxToResponse: [],
  };
  for (const t of timed) {
    const o = byOrder.get(t.orderId);
    const a = answeredAt.get(t.orderId);
    if (!o || a === undefined) continue;
    h['requestToOrderTx']!.push(o.c - t.sentAt);
    h['orderTxToReserveTx']!.push(a - o.c);
    h['reserveTxToPricingTx']!.push(o.u - a);
    h['pricingTxToResponse']!.push(t.doneAt - o.u);
  }
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, percentiles(v)]));
}

async function query<T>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: `${PG}/${database}` });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** The machine's limit for the same atomic steps: pgbench on one campaign row. */
async function machineLimit(): Promise<{ reserve: PgbenchResult; redeem: PgbenchResult }> {
  const db = 'admit_bench_promo_limit';
  await query('postgres', `DROP DATABASE IF EXISTS ${db}`);
  await query('postgres', `CREATE DATABASE ${db}`);
  const c = new Client({ connectionString: `${PG}/${db}` });
  await c.connect();
  try {
    await c.query(`CREATE TABLE campaigns (id text PRIMARY KEY, redemptions int NOT NULL, max_redemptions int NOT NULL,
                    budget_used bigint NOT NULL DEFAULT 0, updated_at timestamptz)`);
    await c.query(`CREATE TABLE coupons (id text PRIMARY KEY, campaign_id text NOT NULL, status text NOT NULL,
                    order_id text, discount_value bigint, reserved_at timestamptz, redeemed_at timestamptz, updated_at timestamptz)`);
    await c.query(`CREATE UNIQUE INDEX coupons_order_uq ON coupons (order_id) WHERE order_id IS NOT NULL`);
    await c.query(`CREATE TABLE coupon_answers (order_id text PRIMARY KEY, outcome text NOT NULL, coupon_id text,
                    answered_at timestamptz NOT NULL DEFAULT now())`);
    await c.query(`INSERT INTO campaigns VALUES ('cmp_1', 0, 2000000000, 0, now())`);
    await c.query(`INSERT INTO coupons (id, campaign_id, status, order_id, discount_value)
                   SELECT 'r' || g, 'cmp_1', 'reserved', 'o' || g, 100 FROM generate_series(1, 300000) g`);
    await c.query('VACUUM ANALYZE');
  } finally {
    await c.end();
  }
  const reserveScript = `\\set n random(1, 2000000000)
BEGIN;
SELECT redemptions, max_redemptions FROM campaigns WHERE id = 'cmp_1' FOR UPDATE;
UPDATE campaigns SET redemptions = redemptions + 1, budget_used = budget_used + 100, updated_at = now()
 WHERE id = 'cmp_1' AND redemptions < max_redemptions;
INSERT INTO coupons (id, campaign_id, status, order_id, discount_value, reserved_at)
 VALUES ('c' || :client_id || '_' || :n, 'cmp_1', 'reserved', 'x' || :client_id || '_' || :n, 100, now()) ON CONFLICT DO NOTHING;
INSERT INTO coupon_answers (order_id, outcome, coupon_id) VALUES ('x' || :client_id || '_' || :n, 'reserved', 'c' || :n)
 ON CONFLICT DO NOTHING;
COMMIT;
`;
  const redeemScript = `\\set n random(1, 300000)
UPDATE coupons SET status = 'redeemed', redeemed_at = now(), updated_at = now() WHERE order_id = 'o' || :n AND status IN ('reserved', 'redeemed');
`;
  const reserve = await pgbench({ database: db, clients: 16, seconds: PG_SECONDS, script: reserveScript });
  const redeem = await pgbench({ database: db, clients: 16, seconds: PG_SECONDS, script: redeemScript });
  await query('postgres', `DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
  return { reserve, redeem };
}

async function main(): Promise<void> {
  const root = repoRoot();
  const started = new Date();
  const load0 = loadavg();
  const errors: string[] = [];
  const { startStack } = loadStackModule(root);
  let broker: Broker | undefined;
  let stack: Stack | undefined;
  let reserve: Phase | undefined;
  let redeem: Phase | undefined;
  let limit: { reserve: PgbenchResult; redeem: PgbenchResult } | undefined;
  let rssMaxMb: number | null = null;
  let roundTrip: RoundTrip | undefined;
  let rejectedAnswers: number | null = null;
  try {
    broker = await startBroker(root, 'promo', 19400);
    say(`broker ${broker.brokers}; starting the stack (ports ${PORT_BASE}+)`);
    stack = await startStack({
      name: 'bench_promo',
      portBase: PORT_BASE,
      env: {
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: broker.brokers,
        PROMOTIONS_PUBLIC_RATE_LIMIT: '100000',
        OUTBOX_KEEP_PUBLISHED_MS: '0',
      },
      logDir: join(root, 'test-artifacts', 'logs', 'bench_promo'),
    });
    const onboard = await postJson(`${stack.urls.payment}/v1/merchants`, stack.acquirerKey, {
      name: 'Bench Promotions',
      country: 'CN',
      city: 'Hangzhou',
      timezone: 'Asia/Shanghai',
      mcc: '7991',
      settlementCurrency: 'CNY',
    });
    if (onboard.status !== 201) throw new Error(`onboarding: ${onboard.status} ${JSON.stringify(onboard.body)}`);
    const merchantId = onboard.body['id'] as string;
    const key = (onboard.body['apiKey'] as { secret: string }).secret;
    const promo = stack.urls.promotions;
    await until(
      () => fetch(`${promo}/v1/campaigns`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status),
      (s) => s === 200,
      120_000,
      500,
    );
    const created = await postJson(`${promo}/v1/campaigns`, key, {
      name: 'Bench code',
      trigger: 'code',
      code: 'BENCH-2026',
      discount: { percentOff: 10 },
      validFrom: '2026-01-01',
      validTo: '2030-12-31',
      limits: { totalRedemptions: 100_000_000 },
    });
    if (created.status !== 201) throw new Error(`campaign: ${created.status} ${JSON.stringify(created.body)}`);
    try {
      const timed: Timed[] = [];
      roundTrip = await ticketingRoundTrip(stack.urls.ticketing, key, timed);
      roundTrip.hopsMs = await hops(timed, stack.databases.ticketing, stack.databases.promotions);
      say(`round trip: ${JSON.stringify(roundTrip)}`);
    } catch (e) {
      errors.push(`round trip: ${e instanceof Error ? e.message : String(e)}`);
    }
    // The other services would consume the same events on the same two cores (payment records
    // every order.placed, reporting everything): the reserve and redeem phases measure promotions.
    for (const s of ['ticketing', 'reporting', 'payment', 'sandbox'] as const) stack.kill(s);

    const kafka = new Kafka({
      clientId: 'bench-promo',
      brokers: broker.brokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    const reserved = new Map<string, number>();
    let rejected = 0;
    const redeemed = new Map<string, number>();
    const reader = kafka.consumer({ groupId: `bench-promo-${Date.now()}`, allowAutoTopicCreation: false });
    await reader.connect();
    await reader.subscribe({ topics: ['coupons'], fromBeginning: false });
    const joined = new Promise<void>((resolve) => reader.on(reader.events.GROUP_JOIN, () => resolve()));
    // The reader must not add latency of its own: kafkajs's default commits the offsets after
    // every batch (a broker round trip before the next fetch) and takes one partition at a time.
    // This group is throw-away, so it commits nothing and reads all partitions at once.
    await reader.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 6,
      eachBatch: async ({ batch }) => {
        const now = Date.now();
        for (const message of batch.messages) {
          const v = JSON.parse(message.value?.toString() ?? '{}') as { type?: string; payload?: { orderId?: string } };
          const orderId = v.payload?.orderId;
          if (!orderId) continue;
          if (v.type === 'coupon.reserved' || v.type === 'coupon.rejected') reserved.set(orderId, now);
          if (v.type === 'coupon.rejected') rejected++;
          else if (v.type === 'coupon.redeemed') redeemed.set(orderId, now);
        }
      },
    });
    await joined;
    const attractionId = newId('attraction');
    const a = envelope('attraction.created', merchantId, 'attraction', attractionId, {
      attractionId,
      merchantId,
      name: 'Bench',
      city: 'Hangzhou',
      timezone: 'Asia/Shanghai',
      createdAt: new Date().toISOString(),
    });
    await producer.send({ topic: a.topic, messages: [a.message] });

    const promoPid = await pidListeningOn(PORT_BASE + 3);
    const rss = promoPid ? new RssSampler(promoPid) : undefined;
    rss?.start();

    // warm-up: 200 orders, not counted
    const orderIds = Array.from({ length: ORDERS + 200 }, () => newId('order'));
    const placed = (orderId: string): EventPayload<'order.placed'> => ({
      orderId,
      merchantId,
      attractionId,
      channel: 'counter',
      items: [
        {
          productId: 'prd_bench',
          productKind: 'admission',
          slotId: null,
          quantity: 1,
          unitPrice: { value: 10000, currency: 'CNY' },
        },
      ],
      total: { value: 10000, currency: 'CNY' },
      amountDue: { value: 10000, currency: 'CNY' },
      couponCode: 'BENCH-2026',
      customerReference: null,
      holdExpiresAt: new Date(Date.now() + 600_000).toISOString(),
      placedAt: new Date().toISOString(),
    });
    const warm = orderIds.slice(0, 200);
    const measured = orderIds.slice(200);
    say('warm-up');
    await publishAtRate(producer, warm.length, 500, (i) =>
      envelope('order.placed', merchantId, 'order', warm[i]!, placed(warm[i]!)),
    );
    await waitAnswers(reserved, warm, 30_000);

    say(`reserve: ${ORDERS} order.placed at ${RATE}/s`);
    const rs = await publishAtRate(producer, measured.length, RATE, (i) =>
      envelope('order.placed', merchantId, 'order', measured[i]!, placed(measured[i]!), false),
    );
    await waitAnswers(reserved, measured, 60_000);
    reserve = phase(
      rs.sentAt,
      reserved,
      RATE,
      await txStarts(
        stack.databases.promotions,
        `SELECT order_id, (extract(epoch FROM answered_at) * 1000)::float8 AS t FROM coupon_answers WHERE order_id = ANY($1)`,
        measured,
      ),
    );
    rejectedAnswers = rejected;
    say(`reserve: ${JSON.stringify(reserve)} (${rejected} rejected)`);

    say(`redeem: ${ORDERS} order.fulfilled at ${RATE}/s`);
    const rd = await publishAtRate(producer, measured.length, RATE, (i) =>
      envelope(
        'order.fulfilled',
        merchantId,
        'order',
        measured[i]!,
        {
          orderId: measured[i]!,
          merchantId,
          attractionId,
          paymentId: `pay_bench_${i}`,
          amountPaid: { value: 9000, currency: 'CNY' },
          ticketCount: 1,
          fulfilledAt: new Date().toISOString(),
        },
        false,
      ),
    );
    await waitAnswers(redeemed, measured, 60_000);
    redeem = phase(
      rd.sentAt,
      redeemed,
      RATE,
      await txStarts(
        stack.databases.promotions,
        `SELECT order_id, (extract(epoch FROM updated_at) * 1000)::float8 AS t FROM coupons
          WHERE order_id = ANY($1) AND status = 'redeemed'`,
        measured,
      ),
    );
    say(`redeem: ${JSON.stringify(redeem)}`);
    rss?.stop();
    if (rss) rssMaxMb = rss.between(0, Date.now()).maxMb;
    await reader.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  } catch (e) {
    errors.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    say(`error: ${errors[errors.length - 1]}`);
  } finally {
    if (stack) await stack.stop().catch(() => undefined);
    if (broker) await stopBroker(root, broker).catch(() => undefined);
  }
  try {
    say(`pgbench: the same atomic steps, ${PG_SECONDS} s each`);
    limit = await machineLimit();
  } catch (e) {
    errors.push(e instanceof Error ? e.message : String(e));
  }
  const ok = (p: Phase | undefined): boolean | null =>
    p
      ? p.answered === p.sent &&
        rejectedAnswers === 0 &&
        p.ratePerSec >= TARGET.perSecond &&
        p.latencyMs.p95 < TARGET.p95Ms
      : null;
  const report = {
    bench: 'promotions',
    startedAt: started.toISOString(),
    durationSec: r1((Date.now() - started.getTime()) / 1000),
    machine: {
      cores: cpus().length,
      loadavgBefore: load0.map((x) => r1(x, 2)),
      loadavgAfter: loadavg().map((x) => r1(x, 2)),
    },
    method: {
      reserve: `order.placed (code campaign, percentOff 10) published on 'orders' at ${RATE}/s; latency = publish → coupon.reserved read on 'coupons'`,
      redeem: `order.fulfilled for the same orders at ${RATE}/s; latency = publish → coupon.redeemed read on 'coupons'`,
      dbRatePerSec:
        "answers committed per second, from the answering transactions' starts: coupon_answers.answered_at / coupons.updated_at",
      roundTrip: `ticketing POST /v1/orders (counter, 1 day ticket, couponCode) in a closed loop of ${RT_CONCURRENCY}; latency = request → response carrying status awaiting_payment and the discounted amountDue (ticketing publishes order.placed, promotions answers coupon.reserved, ticketing prices the order, all over Kafka)`,
      machineLimit:
        'pgbench -c 16 on one campaign row: lock + conditional counter UPDATE + coupon INSERT + answer INSERT; redeem = conditional coupon UPDATE',
    },
    targets: TARGET,
    reserve,
    redeem,
    machineLimit: limit
      ? {
          reserveTps: limit.reserve.tps,
          reserveLatencyAvgMs: limit.reserve.latencyAvgMs,
          redeemTps: limit.redeem.tps,
          redeemLatencyAvgMs: limit.redeem.latencyAvgMs,
          commands: [limit.reserve.command, limit.redeem.command],
        }
      : null,
    ratios: {
      reserveVsPgbench: reserve && limit ? r1(reserve.ratePerSec / limit.reserve.tps, 3) : null,
      redeemVsPgbench: redeem && limit ? r1(redeem.ratePerSec / limit.redeem.tps, 3) : null,
    },
    rejectedAnswers,
    promotionsRssMaxMb: rssMaxMb,
    roundTrip: roundTrip ?? null,
    pass: {
      reserve: ok(reserve),
      redeem: ok(redeem),
      roundTrip: roundTrip
        ? roundTrip.priced === roundTrip.orders && roundTrip.latencyMs.p99 < TARGET.roundTripP99Ms
        : null,
    },
    errors,
  };
  const file = writeResults(root, 'promotions', started, report);
  say(`wrote ${file} and bench/results/promotions-latest.json`);
  process.stdout.write(
    `${JSON.stringify({ reserve, redeem, ratios: report.ratios, pass: report.pass, errors }, null, 2)}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
