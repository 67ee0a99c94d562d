#!/usr/bin/env node
/**
 * Benchmark of the ticketing service through its public API on the real stack, side by side with
 * pgbench doing the same atomic writes, in one run on one machine:
 *
 *   1. gate scans: POST /v1/scans (gate key) on many valid multi-entry tickets (maxEntries 1000),
 *      closed loop → scans/s and p50/p99; pgbench doing the scan's transaction
 *      (SELECT … FOR UPDATE + UPDATE entries_left + INSERT scan + INSERT outbox);
 *   2. a slot-limited sale: one slot of capacity 20 000 sold to 200 concurrent buyers
 *      (POST /v1/orders, quantity 1, Idempotency-Key) until SOLD_OUT → orders/s, zero oversell
 *      checked by SQL; pgbench doing the order's transaction (INSERT order + item + outbox event,
 *      then the conditional UPDATE of the slot) on one hot slot;
 *   3. payment.succeeded → tickets.issued latency at ~200 orders/s: the bench writes real
 *      payment.succeeded events (appendToOutbox) into the payment service's outbox at a fixed rate
 *      for orders of phase 2; the payment service's relay publishes them, ticketing consumes them
 *      and issues the tickets; latency = the envelopes' occurredAt (payment.succeeded → the
 *      tickets.issued event written in the issuing transaction), also from the PostgreSQL clock;
 *   4. the ticketing process's RSS (VmRSS every 250 ms) through all of it.
 *
 * Reuses bench/payment's modules (stack loader, pgbench runner, /proc sampling, HTTP load).
 * Writes bench/results/ticketing-<UTC time>.json and ticketing-latest.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import { newId } from '@admit/contracts';
import { appendToOutbox } from '@admit/messaging';
import type { Stack } from '@admit/testing';
import { closedLoop, HttpClient, round, summarise, type Answer, type LatencySummary } from '../payment/load';
import {
  cpuReportOver,
  cpuSample,
  kafkaPid,
  memoryKb,
  pidByCommand,
  pidListeningOn,
  processByName,
  RssSampler,
  type CpuReport,
  type CpuSample,
  type Pids,
} from '../payment/proc';
import { loadStackModule } from '../payment/stack';
import { pgbench, startBroker, stopBroker, type Broker, type PgbenchResult } from '../payment/tools';

const num = (name: string, def: number, min = 1): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= min ? v : def;
};

const P = {
  portBase: num('BENCH_PORT_BASE', 18100),
  stackName: 'bench_ticketing',
  scanTickets: num('BENCH_SCAN_TICKETS', 200),
  scanMaxEntries: 1000,
  scanClients: num('BENCH_SCAN_CLIENTS', 64),
  scanSec: num('BENCH_SCAN_SEC', 12),
  scanSkipSec: 2,
  slotCapacity: num('BENCH_SLOT_CAPACITY', 20_000),
  buyers: num('BENCH_BUYERS', 200),
  saleMaxSec: num('BENCH_SALE_MAX_SEC', 50),
  payRate: num('BENCH_PAY_RATE', 200),
  paySec: num('BENCH_PAY_SEC', 15),
  paySkipSec: 2,
  pgbenchSec: num('BENCH_PGBENCH_SEC', 10),
  /** pgbench clients are capped by the server's free connections (max_connections 100 here) */
  pgbenchMaxClients: num('BENCH_PGBENCH_MAX_CLIENTS', 16),
};
/** The ticketing service's group-commit histogram (`admit_ticketing_scan_batch_size`): batches and scans so far. */
async function scanBatches(base: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: value('admit_ticketing_scan_batch_size_count'), sum: value('admit_ticketing_scan_batch_size_sum') };
}

const TARGETS = { scansPerSec: 5000, scanP99Ms: 10, ordersPerSec: 500, issueP99Ms: 150, rssMb: 256 };
const OTHER_WORK_FLAG_PCT = 50;

const say = (msg: string): void =>
  void process.stderr.write(`[bench:ticketing ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'admit') return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(__dirname, '../../..');
    dir = up;
  }
}

const stamp = (d: Date): string =>
  d
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');

async function pgClient(database: string): Promise<Client> {
  const c = new Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` });
  await c.connect();
  return c;
}

async function call(
  method: string,
  url: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: res.status, body: { text } };
  }
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: not reached in ${timeoutMs} ms; last ${JSON.stringify(v)}`);
    await sleep(200);
  }
}

/** An E'' literal for pgbench; ':' as \x3a because pgbench reads `:name` inside literals as a variable. */
const lit = (s: string): string => `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/:/g, '\\x3a')}'`;

// ---------------------------------------------------------------------------- Kafka (private broker)

function emergencyStop(root: string, broker: Broker | null): void {
  for (const port of [1, 2, 3, 4, 10].map((n) => P.portBase + n)) {
    const out = spawnSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' }).stdout ?? '';
    const pid = Number(/pid=(\d+)/.exec(out)?.[1]);
    if (pid && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // gone
      }
    }
  }
  if (broker?.private && broker.dataDir) {
    spawnSync('bash', ['infra/kafka/stop.sh'], {
      cwd: root,
      env: { ...process.env, KAFKA_DATA_DIR: broker.dataDir, KAFKA_WIPE: '1' },
      stdio: 'ignore',
    });
  }
}

// ---------------------------------------------------------------------------- CPU accounting

/** bench/payment's CpuReport with this bench's names (its `payment` slot holds ticketing, `sandbox` payment). */
function cpuView(r: CpuReport) {
  return {
    seconds: r.seconds,
    ticketingServicePct: r.paymentServicePct,
    paymentServicePct: r.walletSandboxPct,
    loadGeneratorPct: r.loadGeneratorPct,
    measuringToolPct: r.measuringToolPct,
    postgresBenchDbsPct: r.postgresBenchDbsPct,
    postgresByDbPct: r.postgresByDbPct,
    postgresSharedPct: r.postgresSharedPct,
    kafkaBrokerPct: r.kafkaBrokerPct,
    machineBusyPctOfAllCores: r.machineBusyPctOfAllCores,
    otherWorkPct: r.otherWorkPct,
  };
}
type CpuView = ReturnType<typeof cpuView>;

/** Runs `work` while sampling CPU every second (so exited backends keep their share). */
async function withCpu<T>(pids: () => Pids, dbPrefix: string, work: () => Promise<T>) {
  const cores = cpus().length;
  const samples: CpuSample[] = [cpuSample(pids(), dbPrefix)];
  const timer = setInterval(() => samples.push(cpuSample(pids(), dbPrefix)), 1000);
  try {
    const result = await work();
    return { result, cpu: cpuView(cpuReportOver([...samples, cpuSample(pids(), dbPrefix)], cores)) };
  } finally {
    clearInterval(timer);
  }
}

// ---------------------------------------------------------------------------- pgbench scripts

/** The scan's transaction as ScansService commits an admitted `in` scan (without the optional nonce lookup). */
function scanScript(o: {
  tickets: number;
  attractionId: string;
  gateKeyId: string;
  envelope: string;
  headers: string;
}) {
  const tid = `'tkt_pgb_' || :t`;
  const response = JSON.stringify({ result: 'admitted', ticket: { id: 'tkt_pgb', status: 'valid', entriesLeft: 999 } });
  return [
    `\\set t random(1, ${o.tickets})`,
    `BEGIN;`,
    `SELECT * FROM tickets WHERE id = ${tid} FOR UPDATE;`,
    `UPDATE tickets SET entries_left = entries_left - 1, status = 'valid', inside = true WHERE id = ${tid};`,
    `INSERT INTO scans (id, ticket_id, attraction_id, gate_key_id, gate_id, direction, result, reason, nonce, response, scanned_at, offline) ` +
      `VALUES ('scn_pgb' || gen_random_uuid(), ${tid}, ${lit(o.attractionId)}, ${lit(o.gateKeyId)}, 'pgbench', 'in', 'admitted', NULL, NULL, ${lit(response)}::jsonb, now(), false);`,
    `INSERT INTO outbox (event_id, topic, message_key, value, headers) VALUES (gen_random_uuid(), 'scans', ${tid}, ${lit(o.envelope)}, ${lit(o.headers)}::jsonb);`,
    `END;`,
    '',
  ].join('\n');
}

/** The order's transaction as OrdersService commits a one-slot order: order, item, order.placed, then the slot. */
function orderScript(o: {
  merchantId: string;
  attractionId: string;
  productId: string;
  slotId: string;
  envelope: string;
  headers: string;
}) {
  const id = `'ord_pgb' || :n`;
  return [
    `\\set n random(1, 9000000000000000000)`,
    `BEGIN;`,
    `INSERT INTO orders (id, merchant_id, attraction_id, idempotency_key, channel, status, total_value, discount_value, amount_due_value, ` +
      `currency, customer_reference, customer_email, customer_phone, hold_expires_at, coupon_code, capacity) ` +
      `VALUES (${id}, ${lit(o.merchantId)}, ${lit(o.attractionId)}, 'idem_pgb' || :n, 'counter', 'awaiting_payment', 1000, 0, 1000, 'CNY', NULL, NULL, NULL, now() + interval '5 minutes', NULL, 'held');`,
    `INSERT INTO order_items (order_id, line, product_id, slot_id, quantity, unit_price_value) VALUES (${id}, 1, ${lit(o.productId)}, ${lit(o.slotId)}, 1, 1000);`,
    `INSERT INTO outbox (event_id, topic, message_key, value, headers) VALUES (gen_random_uuid(), 'orders', ${id}, ${lit(o.envelope)}, ${lit(o.headers)}::jsonb);`,
    `UPDATE slots SET held = held + 1 WHERE id = ${lit(o.slotId)} AND held + sold + 1 <= capacity RETURNING id;`,
    `END;`,
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------- phase 2: the sale

type SaleResult = {
  buyers: number;
  created: number;
  soldOut: number;
  otherOutcomes: Record<string, number>;
  soldOutReached: boolean;
  /** from the first request to the last 201 */
  sellingSec: number;
  ordersPerSec: number;
  latencyMs: LatencySummary;
  orderIds: string[];
};

async function sale(o: { client: HttpClient; key: string; productId: string; slotId: string; runId: string }) {
  const started = performance.now();
  const deadline = started + P.saleMaxSec * 1000;
  let seq = 0;
  let stop = false;
  let lastCreated = started;
  const lat: number[] = [];
  const orderIds: string[] = [];
  const outcomes: Record<string, number> = {};
  let soldOut = 0;
  const body = JSON.stringify({
    channel: 'counter',
    items: [{ productId: o.productId, slotId: o.slotId, quantity: 1 }],
  });
  const worker = async (): Promise<void> => {
    while (!stop && performance.now() < deadline) {
      const t0 = performance.now();
      let a: Answer;
      try {
        a = await o.client.post({
          path: '/v1/orders',
          headers: { authorization: `Bearer ${o.key}`, 'idempotency-key': `${o.runId}-sale-${seq++}` },
          body,
        });
      } catch (err) {
        const k = `error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`;
        outcomes[k] = (outcomes[k] ?? 0) + 1;
        continue;
      }
      const t1 = performance.now();
      if (a.status === 201) {
        lat.push(t1 - t0);
        lastCreated = t1;
        orderIds.push((JSON.parse(a.body) as { id: string }).id);
      } else if (a.status === 409 && a.body.includes('SOLD_OUT')) {
        soldOut++;
        stop = true;
      } else {
        const k = String(a.status);
        outcomes[k] = (outcomes[k] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: P.buyers }, worker));
  const sellingSec = (lastCreated - started) / 1000;
  const r: SaleResult = {
    buyers: P.buyers,
    created: orderIds.length,
    soldOut,
    otherOutcomes: outcomes,
    soldOutReached: soldOut > 0,
    sellingSec: round(sellingSec, 2),
    ordersPerSec: round(orderIds.length / Math.max(0.001, sellingSec)),
    latencyMs: summarise(lat),
    orderIds,
  };
  return r;
}

// ---------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const root = repoRoot();
  const started = new Date();
  const runId = `bt${started.getTime().toString(36)}`;
  const loadStart = loadavg();
  const cores = cpus().length;
  const dbPrefix = `admit_${P.stackName}_`;
  const { startStack } = loadStackModule(root);
  let brokerForEmergency: Broker | null = null;
  const onFatal = (why: string): void => {
    say(`${why}: stopping the stack and the broker`);
    emergencyStop(root, brokerForEmergency);
    process.exit(1);
  };
  process.on('uncaughtException', (err) => onFatal(`uncaught ${err.stack ?? String(err)}`));
  process.on('SIGINT', () => onFatal('SIGINT'));
  process.on('SIGTERM', () => onFatal('SIGTERM'));

  say('starting a private Kafka broker');
  const broker = await startBroker(root, 'ticketing', 19292);
  brokerForEmergency = broker;
  let stack: Stack | undefined;
  const clients: Client[] = [];
  try {
    say(`starting the stack (${P.stackName}, ports ${P.portBase}+)`);
    stack = await startStack({
      name: P.stackName,
      portBase: P.portBase,
      env: {
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: broker.brokers,
        SANDBOX_LATENCY_MS: '0',
        // The issuance latency is read from the payment and ticketing events in `outbox_events`:
        // keep a copy of published rows (one more row write per event than production; ADR 0008).
        OUTBOX_KEEP_PUBLISHED_MS: String(3600_000),
      },
      logDir: join(root, 'test-artifacts', 'logs', P.stackName),
    });
    const T = stack.urls.ticketing;
    const tUrl = new URL(T);

    // merchant (payment owns merchants and keys; ticketing learns them from events)
    const onboard = await call('POST', `${stack.urls.payment}/v1/merchants`, stack.acquirerKey, {
      name: 'Bench Attraction',
      country: 'CN',
      city: 'Hangzhou',
      timezone: 'Asia/Shanghai',
      mcc: '7991',
      settlementCurrency: 'CNY',
    });
    if (onboard.status !== 201)
      throw new Error(`merchant onboarding: ${onboard.status} ${JSON.stringify(onboard.body)}`);
    const merchantId = onboard.body['id'] as string;
    const key = (onboard.body['apiKey'] as { secret: string }).secret;
    const att = await until(
      'attraction',
      () =>
        call('POST', `${T}/v1/attractions`, key, { name: 'Bench Park', city: 'Hangzhou', timezone: 'Asia/Shanghai' }),
      (r) => r.status === 201,
    );
    const attractionId = att.body['id'] as string;
    const product = async (body: object): Promise<string> => {
      const r = await call('POST', `${T}/v1/attractions/${attractionId}/products`, key, body);
      if (r.status !== 201) throw new Error(`product: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body['id'] as string;
    };
    const multiProduct = await product({
      name: '1000-entry pass',
      kind: 'admission',
      price: { value: 1000, currency: 'CNY' },
      entry: { maxEntries: P.scanMaxEntries, validity: 'day' },
      requiresSlot: false,
    });
    const slotProduct = await product({
      name: 'Timed entry',
      kind: 'admission',
      price: { value: 1000, currency: 'CNY' },
      entry: { maxEntries: 1, validity: 'slot' },
      requiresSlot: true,
    });
    const gate = await call('POST', `${stack.urls.payment}/v1/merchants/${merchantId}/api-keys`, key, {
      scope: 'gate',
      attractionId,
    });
    if (gate.status !== 201) throw new Error(`gate key: ${gate.status} ${JSON.stringify(gate.body)}`);
    const gateKey = gate.body['secret'] as string;
    await until(
      'gate key known to ticketing',
      () => call('POST', `${T}/v1/scans`, gateKey, { code: 'x.y', gateId: 'warmup' }),
      (r) => r.status === 200,
    );
    const tomorrow = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(
      new Date(Date.now() + 86_400_000),
    );
    const sched = await call('POST', `${T}/v1/attractions/${attractionId}/slots`, key, {
      from: tomorrow,
      to: tomorrow,
      times: ['10:00', '11:00'],
      durationMinutes: 60,
      capacity: P.slotCapacity,
    });
    if (sched.status !== 201) throw new Error(`slots: ${sched.status} ${JSON.stringify(sched.body)}`);

    const tdb = await pgClient(stack.databases.ticketing);
    const pdb = await pgClient(stack.databases.payment);
    clients.push(tdb, pdb);
    const [slotRow, pgbSlotRow] = (
      await tdb.query<{ id: string }>(`SELECT id FROM slots WHERE attraction_id = $1 ORDER BY starts_at`, [
        attractionId,
      ])
    ).rows;
    if (!slotRow || !pgbSlotRow) throw new Error('slots not created');
    const slotId = slotRow.id;
    // pgbench's hot slot: same table, a capacity it never reaches in its window
    await tdb.query(`UPDATE slots SET capacity = 2000000000 WHERE id = $1`, [pgbSlotRow.id]);

    // The other consumers are not under test and would spend the same two cores on every event.
    for (const s of ['promotions', 'reporting', 'sandbox'] as const) stack.kill(s);

    const ticketingPid =
      (await pidListeningOn(P.portBase + 2)) ??
      pidByCommand('dist/services/ticketing/src/main.js', `TICKETING_PORT=${P.portBase + 2}`);
    const paymentPid =
      (await pidListeningOn(P.portBase + 1)) ??
      pidByCommand('dist/services/payment/src/main.js', `PAYMENT_PORT=${P.portBase + 1}`);
    if (!ticketingPid) throw new Error('cannot find the ticketing process');
    const brokerPid = broker.dataDir
      ? kafkaPid(broker.dataDir)
      : await pidListeningOn(Number(broker.brokers.split(',')[0]?.split(':')[1] ?? 9092));
    const redisPid = (await pidListeningOn(6379)) ?? processByName('redis-server');
    let toolPid: number | undefined;
    const pids = (): Pids => ({
      bench: process.pid,
      payment: ticketingPid,
      sandbox: paymentPid,
      redis: redisPid,
      kafka: brokerPid,
      tool: toolPid,
    });
    say(`ticketing pid ${ticketingPid}, payment pid ${paymentPid ?? '?'}, broker pid ${brokerPid ?? '?'}`);

    /** payment.succeeded written into the payment service's outbox, as its capture would commit it. */
    const payers = [pdb, await pgClient(stack.databases.payment), await pgClient(stack.databases.payment)];
    clients.push(...payers.slice(1));
    let payerTurn = 0;
    const paySucceeded = async (orderId: string, value: number): Promise<void> => {
      const c = payers[payerTurn++ % payers.length] as Client;
      const paymentId = newId('payment');
      const manager = { query: (sql: string, params?: unknown[]) => c.query(sql, params) };
      await appendToOutbox(manager as unknown as EntityManager, {
        type: 'payment.succeeded',
        aggregateId: paymentId,
        merchantId,
        payload: {
          paymentId,
          orderId,
          merchantId,
          amount: { value, currency: 'CNY' },
          wallet: 'alipay',
          walletTransactionId: `2026${Date.now()}${payerTurn}`,
          partnerTransId: paymentId,
          paidAt: new Date().toISOString(),
          exchangeRate: null,
          settlementAmount: null,
        },
      });
    };

    // ------------------------------------------------ tickets for the gates
    const scanOrders: string[] = [];
    for (let left = P.scanTickets; left > 0; left -= 100) {
      const q = Math.min(100, left);
      const r = await call('POST', `${T}/v1/orders`, key, {
        channel: 'counter',
        items: [{ productId: multiProduct, quantity: q }],
      });
      if (r.status !== 201) throw new Error(`scan order: ${r.status} ${JSON.stringify(r.body)}`);
      scanOrders.push(r.body['id'] as string);
      await paySucceeded(r.body['id'] as string, (r.body['amountDue'] as { value: number }).value);
    }
    const ticketRows = await until(
      'gate tickets issued',
      async () =>
        (
          await tdb.query<{ id: string; code: string }>(`SELECT id, code FROM tickets WHERE order_id = ANY($1)`, [
            scanOrders,
          ])
        ).rows,
      (rows) => rows.length >= P.scanTickets,
    );
    const codes = ticketRows.map((t) => t.code);
    say(`${codes.length} tickets of ${P.scanMaxEntries} entries issued`);

    const client = new HttpClient(tUrl.hostname, Number(tUrl.port), Math.max(P.buyers, P.scanClients) + 8);
    const rssBeforeLoadMb = round((memoryKb(ticketingPid)?.rss ?? 0) / 1024);
    const sampler = new RssSampler(ticketingPid);
    sampler.start();
    const [conn] = (
      await tdb.query<{ free: number }>(
        `SELECT current_setting('max_connections')::int - (SELECT count(*) FROM pg_stat_activity)::int AS free`,
      )
    ).rows;
    const pgbClients = (n: number): number => Math.max(4, Math.min(n, P.pgbenchMaxClients, (conn?.free ?? 40) - 30));

    // ------------------------------------------------ 1. gate scans
    let scanSeq = 0;
    const scanNext = () => ({
      path: '/v1/scans',
      headers: { authorization: `Bearer ${gateKey}` },
      body: JSON.stringify({ code: codes[scanSeq++ % codes.length], gateId: `g${scanSeq % 16}`, direction: 'in' }),
    });
    const admitted = (a: Answer): boolean => a.status === 200 && a.body.includes('"admitted"');
    say('scans: warm-up 3 s');
    await closedLoop({ client, clients: P.scanClients, seconds: 3, skipSec: 0, next: scanNext, ok: admitted });
    say(`scans: ${P.scanClients} clients, ${P.scanSec} s`);
    const batchesBefore = await scanBatches(T);
    const scans = await withCpu(pids, dbPrefix, () =>
      closedLoop({
        client,
        clients: P.scanClients,
        seconds: P.scanSec,
        skipSec: P.scanSkipSec,
        next: scanNext,
        ok: admitted,
      }),
    );
    const scanRss = sampler.between(scans.result.from - P.scanSkipSec * 1000, scans.result.to);
    const batchesAfter = await scanBatches(T);
    const scanBatch = {
      batches: batchesAfter.count - batchesBefore.count,
      meanSize: round((batchesAfter.sum - batchesBefore.sum) / Math.max(1, batchesAfter.count - batchesBefore.count)),
    };
    say(
      `scans: ${scans.result.okPerSec}/s admitted, p50 ${scans.result.latencyMs.p50} ms, p99 ${scans.result.latencyMs.p99} ms, ticketing ${scans.cpu.ticketingServicePct}% core, ${scanBatch.meanSize} scans per group commit`,
    );
    const [scanEvent] = (
      await tdb.query<{ value: string; headers: unknown }>(
        `SELECT value, headers FROM outbox_events WHERE topic = 'scans' ORDER BY id DESC LIMIT 1`,
      )
    ).rows;
    const [gateKeyRow] = (
      await tdb.query<{ gate_key_id: string }>(`SELECT gate_key_id FROM scans WHERE result = 'admitted' LIMIT 1`)
    ).rows;
    await tdb.query(
      `INSERT INTO tickets (id, order_id, merchant_id, attraction_id, product_id, slot_id, code, status, max_entries, entries_left, valid_from, valid_to)
       SELECT 'tkt_pgb_' || g, t.order_id, t.merchant_id, t.attraction_id, t.product_id, t.slot_id, t.code || '_pgb' || g, 'valid', 2000000000, 2000000000, t.valid_from, t.valid_to
       FROM generate_series(1, $2::int) g, (SELECT * FROM tickets WHERE id = $1) t`,
      [ticketRows[0]?.id, P.scanTickets],
    );
    const scanPgbClients = pgbClients(P.scanClients);
    say(`pgbench: the scan transaction, ${scanPgbClients} clients, ${P.pgbenchSec} s`);
    const scanPgb = await withCpu(pids, dbPrefix, () =>
      pgbench({
        database: stack!.databases.ticketing,
        clients: scanPgbClients,
        seconds: P.pgbenchSec,
        script: scanScript({
          tickets: P.scanTickets,
          attractionId,
          gateKeyId: gateKeyRow?.gate_key_id ?? 'key_bench',
          envelope: scanEvent?.value ?? '{}',
          headers: JSON.stringify(scanEvent?.headers ?? {}),
        }),
        onSpawn: (pid) => (toolPid = pid),
      }),
    );
    toolPid = undefined;
    say(`pgbench scans: ${round(scanPgb.result.tps)} tps`);

    // ------------------------------------------------ 2. the slot-limited sale
    say(`sale: slot of ${P.slotCapacity}, ${P.buyers} buyers (at most ${P.saleMaxSec} s)`);
    const saleFrom = Date.now();
    const sold = await withCpu(pids, dbPrefix, () => sale({ client, key, productId: slotProduct, slotId, runId }));
    const saleRss = sampler.between(saleFrom, Date.now());
    say(
      `sale: ${sold.result.created} orders in ${sold.result.sellingSec} s = ${sold.result.ordersPerSec}/s, p99 ${sold.result.latencyMs.p99} ms, sold out ${sold.result.soldOutReached}`,
    );
    const [slotAfter] = (
      await tdb.query<{ capacity: number; held: number; sold: number; units: number; orders: number }>(
        `SELECT s.capacity, s.held, s.sold,
                (SELECT coalesce(sum(i.quantity), 0)::int FROM order_items i JOIN orders o ON o.id = i.order_id
                  WHERE i.slot_id = s.id AND o.capacity IN ('held', 'sold')) AS units,
                (SELECT count(DISTINCT i.order_id)::int FROM order_items i WHERE i.slot_id = s.id) AS orders
           FROM slots s WHERE s.id = $1`,
        [slotId],
      )
    ).rows;
    const oversell = {
      capacity: slotAfter?.capacity ?? null,
      held: slotAfter?.held ?? null,
      sold: slotAfter?.sold ?? null,
      unitsInOrders: slotAfter?.units ?? null,
      ordersOnSlot: slotAfter?.orders ?? null,
      createdAnswers: sold.result.created,
      oversold: slotAfter ? Math.max(0, slotAfter.held + slotAfter.sold - slotAfter.capacity) : null,
      consistent:
        !!slotAfter &&
        slotAfter.held + slotAfter.sold <= slotAfter.capacity &&
        slotAfter.held + slotAfter.sold === slotAfter.units &&
        slotAfter.orders === sold.result.created,
      fullWhenSoldOut:
        !sold.result.soldOutReached || (slotAfter?.held ?? 0) + (slotAfter?.sold ?? 0) === P.slotCapacity,
    };
    say(`oversell check: ${JSON.stringify(oversell)}`);
    const [placed] = (
      await tdb.query<{ value: string; headers: unknown }>(
        `SELECT value, headers FROM outbox_events WHERE topic = 'orders' ORDER BY id DESC LIMIT 1`,
      )
    ).rows;
    const salePgbClients = pgbClients(P.buyers);
    say(`pgbench: the order transaction on one hot slot, ${salePgbClients} clients, ${P.pgbenchSec} s`);
    const salePgb = await withCpu(pids, dbPrefix, () =>
      pgbench({
        database: stack!.databases.ticketing,
        clients: salePgbClients,
        seconds: P.pgbenchSec,
        script: orderScript({
          merchantId,
          attractionId,
          productId: slotProduct,
          slotId: pgbSlotRow.id,
          envelope: placed?.value ?? '{}',
          headers: JSON.stringify(placed?.headers ?? {}),
        }),
        onSpawn: (pid) => (toolPid = pid),
      }),
    );
    toolPid = undefined;
    say(`pgbench orders: ${round(salePgb.result.tps)} tps`);

    // ------------------------------------------------ 3. payment.succeeded → tickets.issued
    const toPay = sold.result.orderIds.slice(0, Math.floor(P.payRate * P.paySec));
    say(`payments: ${toPay.length} payment.succeeded at ${P.payRate}/s`);
    const payFrom = Date.now();
    const pay = await withCpu(pids, dbPrefix, async () => {
      const t0 = performance.now();
      const interval = 1000 / P.payRate;
      const pending: Promise<void>[] = [];
      let lagMaxMs = 0;
      for (let i = 0; i < toPay.length; i++) {
        const due = t0 + i * interval;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        lagMaxMs = Math.max(lagMaxMs, performance.now() - due);
        pending.push(paySucceeded(toPay[i] as string, 1000));
      }
      await Promise.all(pending);
      const sentSec = (performance.now() - t0) / 1000;
      // wait for every order to be fulfilled (at most 30 s after the last event)
      const end = Date.now() + 30_000;
      let fulfilled = 0;
      while (Date.now() < end) {
        const [r] = (
          await tdb.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM orders WHERE id = ANY($1) AND status = 'fulfilled'`,
            [toPay],
          )
        ).rows;
        fulfilled = r?.n ?? 0;
        if (fulfilled >= toPay.length) break;
        await sleep(250);
      }
      return {
        sent: toPay.length,
        sentSec: round(sentSec, 2),
        rate: round(toPay.length / sentSec),
        lagMaxMs: round(lagMaxMs),
        fulfilled,
      };
    });
    const payRss = sampler.between(payFrom, Date.now());
    sampler.stop();
    // latency per order, events only (skip the first seconds)
    const paidEvents = (
      await pdb.query<{ value: string; created_at: Date; published_at: Date | null }>(
        `SELECT value, created_at, published_at FROM outbox_events WHERE topic = 'payments' AND created_at >= $1`,
        [new Date(payFrom)],
      )
    ).rows.map((r) => {
      const e = JSON.parse(r.value) as { occurredAt: string; payload: { orderId: string } };
      return {
        orderId: e.payload.orderId,
        occurredAt: Date.parse(e.occurredAt),
        createdAt: r.created_at.getTime(),
        publishedAt: r.published_at?.getTime() ?? null,
      };
    });
    const issuedEvents = new Map(
      (
        await tdb.query<{ value: string; created_at: Date }>(
          `SELECT value, created_at FROM outbox_events WHERE topic = 'tickets' AND created_at >= $1`,
          [new Date(payFrom)],
        )
      ).rows
        .map((r) => ({
          e: JSON.parse(r.value) as { type: string; occurredAt: string; payload: { orderId: string } },
          r,
        }))
        .filter(({ e }) => e.type === 'tickets.issued')
        .map(({ e }) => [e.payload.orderId, Date.parse(e.occurredAt)] as const),
    );
    const ticketTimes = new Map(
      (
        await tdb.query<{ order_id: string; created_at: Date }>(
          `SELECT order_id, min(created_at) AS created_at FROM tickets WHERE order_id = ANY($1) GROUP BY order_id`,
          [toPay],
        )
      ).rows.map((r) => [r.order_id, r.created_at.getTime()] as const),
    );
    const skipUntil = payFrom + P.paySkipSec * 1000;
    const counted = paidEvents.filter((p) => p.occurredAt >= skipUntil);
    const envLat = counted.flatMap((p) => {
      const t = issuedEvents.get(p.orderId);
      return t === undefined ? [] : [t - p.occurredAt];
    });
    const sqlLat = counted.flatMap((p) => {
      const t = ticketTimes.get(p.orderId);
      return t === undefined ? [] : [t - p.createdAt];
    });
    const relayLat = counted.flatMap((p) => (p.publishedAt === null ? [] : [p.publishedAt - p.createdAt]));
    const missing = counted.filter((p) => !issuedEvents.has(p.orderId)).length;
    const issue = {
      ...pay.result,
      counted: counted.length,
      missingTicketsIssued: missing,
      envelopeLatencyMs: summarise(envLat),
      sqlClockLatencyMs: summarise(sqlLat),
      paymentRelayMs: summarise(relayLat),
    };
    const [dups] = (
      await tdb.query<{ extra: number }>(
        `SELECT coalesce(sum(n - 1), 0)::int AS extra FROM (SELECT count(*) AS n FROM tickets WHERE order_id = ANY($1) GROUP BY order_id) x`,
        [toPay],
      )
    ).rows;
    say(
      `payments: ${issue.rate}/s sent, ${issue.fulfilled}/${issue.sent} fulfilled, succeeded → issued p50 ${issue.envelopeLatencyMs.p50} ms p99 ${issue.envelopeLatencyMs.p99} ms (PostgreSQL clock p99 ${issue.sqlClockLatencyMs.p99} ms)`,
    );

    // ------------------------------------------------ report
    const hwmMb = round((memoryKb(ticketingPid)?.hwm ?? 0) / 1024);
    const rssMaxMb = Math.max(scanRss.maxMb, saleRss.maxMb, payRss.maxMb);
    const pgVersion = (await tdb.query<{ v: string }>(`SHOW server_version`)).rows[0]?.v ?? null;
    client.close();
    const flag = (c: CpuView): boolean => c.otherWorkPct > OTHER_WORK_FLAG_PCT;
    const warnings = (
      [
        ['scans', scans.cpu],
        ['pgbench scans', scanPgb.cpu],
        ['sale', sold.cpu],
        ['pgbench orders', salePgb.cpu],
        ['payments', pay.cpu],
      ] as const
    )
      .filter(([, c]) => flag(c))
      .map(([n, c]) => `${n}: other work took ${c.otherWorkPct}% of a core (> ${OTHER_WORK_FLAG_PCT}%): unreliable`);
    const verdict = {
      scans: {
        target: `>= ${TARGETS.scansPerSec}/s with p99 < ${TARGETS.scanP99Ms} ms`,
        value: { perSec: scans.result.okPerSec, p99Ms: scans.result.latencyMs.p99 },
        pass: scans.result.okPerSec >= TARGETS.scansPerSec && scans.result.latencyMs.p99 < TARGETS.scanP99Ms,
      },
      sale: {
        target: `${P.slotCapacity} tickets to ${P.buyers} buyers at >= ${TARGETS.ordersPerSec} orders/s, zero oversell`,
        value: {
          ordersPerSec: sold.result.ordersPerSec,
          soldOut: sold.result.soldOutReached,
          oversold: oversell.oversold,
        },
        pass:
          sold.result.soldOutReached &&
          sold.result.ordersPerSec >= TARGETS.ordersPerSec &&
          oversell.oversold === 0 &&
          oversell.consistent &&
          oversell.fullWhenSoldOut,
        zeroOversell: oversell.oversold === 0 && oversell.consistent,
      },
      issue: {
        target: `payment.succeeded → tickets.issued p99 < ${TARGETS.issueP99Ms} ms at ${P.payRate} orders/s`,
        value: { p99Ms: issue.envelopeLatencyMs.p99, rate: issue.rate, missing },
        pass:
          issue.envelopeLatencyMs.p99 < TARGETS.issueP99Ms &&
          missing === 0 &&
          issue.fulfilled === issue.sent &&
          issue.rate >= P.payRate * 0.95,
      },
      rss: {
        target: `< ${TARGETS.rssMb} MB under load`,
        value: { maxMb: rssMaxMb, hwmMb },
        pass: rssMaxMb < TARGETS.rssMb,
      },
    };
    const ratio = (a: number, b: number): number | null => (b > 0 ? round(a / b, 3) : null);
    const pgbView = (r: PgbenchResult) => ({
      tps: round(r.tps),
      latencyAvgMs: r.latencyAvgMs,
      transactions: r.transactions,
      failed: r.failed,
      clients: r.clients,
      seconds: r.seconds,
      mode: r.mode,
      command: r.command,
      script: r.script,
    });
    const result = {
      bench: 'ticketing',
      startedAt: started.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: {
        cores,
        cpuModel: cpus()[0]?.model ?? null,
        memGb: round(totalmem() / 2 ** 30),
        node: process.version,
        postgres: pgVersion,
        loadavgAtStart: loadStart.map((x) => round(x, 2)),
      },
      parameters: { ...P, kafka: broker.private ? `private broker ${broker.brokers}` : broker.brokers },
      scans: {
        service: { ...scans.result, tickets: codes.length, maxEntries: P.scanMaxEntries, clients: P.scanClients },
        cpu: scans.cpu,
        groupCommit: scanBatch,
        pgbench: { ...pgbView(scanPgb.result), cpu: scanPgb.cpu },
        ratioVsPgbench: ratio(scans.result.okPerSec, scanPgb.result.tps),
      },
      sale: {
        service: { ...sold.result, orderIds: undefined },
        oversell,
        cpu: sold.cpu,
        pgbench: { ...pgbView(salePgb.result), cpu: salePgb.cpu },
        ratioVsPgbench: ratio(sold.result.ordersPerSec, salePgb.result.tps),
      },
      issue: { ...issue, duplicateTickets: dups?.extra ?? null, cpu: pay.cpu },
      rss: { beforeLoadMb: rssBeforeLoadMb, scans: scanRss, sale: saleRss, payments: payRss, maxMb: rssMaxMb, hwmMb },
      targets: verdict,
      quality: { otherWorkFlagPct: OTHER_WORK_FLAG_PCT, warnings },
    };
    const dir = join(root, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const text = `${JSON.stringify(result, null, 2)}\n`;
    const file = join(dir, `ticketing-${stamp(started)}.json`);
    writeFileSync(file, text);
    writeFileSync(join(dir, 'ticketing-latest.json'), text);
    say(`wrote ${file}`);
    for (const w of warnings) say(`WARNING ${w}`);
    const line = (name: string, v: { pass: boolean; target: string; value: unknown }): string =>
      `${v.pass ? 'PASS' : 'FAIL'}  ${name.padEnd(6)} ${JSON.stringify(v.value)}  (target ${v.target})`;
    process.stdout.write(
      [
        `scans  ${scans.result.okPerSec}/s p99 ${scans.result.latencyMs.p99} ms | pgbench ${round(scanPgb.result.tps)} tps | ratio ${result.scans.ratioVsPgbench}`,
        `sale   ${sold.result.ordersPerSec} orders/s (${sold.result.created} orders) | pgbench ${round(salePgb.result.tps)} tps | ratio ${result.sale.ratioVsPgbench} | oversold ${oversell.oversold}`,
        `issue  p50 ${issue.envelopeLatencyMs.p50} / p99 ${issue.envelopeLatencyMs.p99} ms at ${issue.rate}/s`,
        `rss    max ${rssMaxMb} MB (before load ${rssBeforeLoadMb} MB, VmHWM ${hwmMb} MB)`,
        line('scans', verdict.scans),
        line('sale', verdict.sale),
        line('issue', verdict.issue),
        line('rss', verdict.rss),
        '',
      ].join('\n'),
    );
  } finally {
    for (const c of clients) await c.end().catch(() => undefined);
    say('stopping the stack and the broker');
    await stack?.stop().catch(() => undefined);
    await stopBroker(root, broker).catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
