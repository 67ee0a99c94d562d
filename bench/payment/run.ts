#!/usr/bin/env node
/**
 * Benchmark of payment capture through the public API, side by side with the machine's own
 * limits for the same work, in one run on one machine:
 *
 *   1. captures: POST /v1/payments (merchant key, a fresh order id and Idempotency-Key each,
 *      payment codes ending 0xxx = paid at once, sandbox with zero latency) in closed loop with
 *      N = 8, 16, 32 clients, 15 s each → captures/s, p50/p99; then open loop at half the best
 *      rate → p99 latency;
 *   2. pgbench doing the durable writes of one capture (the payment insert alone; the update to
 *      succeeded + the outbox event together; synchronous_commit on), best N clients, 15 s;
 *   3. idempotent replays: one request replayed with its Idempotency-Key (closed loop) →
 *      replays/s, p99; redis-benchmark GET / SET / SET NX on the same Redis;
 *   4. the payment process's RSS (VmRSS sampled every 250 ms, and VmHWM) during the load.
 *
 *   npm run -s build && node dist/bench/payment/run.js        (npm run bench:payment)
 *   BENCH_PROFILE=1 node dist/bench/payment/run.js           (a CPU profile of the payment service instead)
 *
 * Writes bench/results/payment-<UTC timestamp>.json and bench/results/payment-latest.json
 * (profile mode: bench/results/payment-profile-<UTC timestamp>.json). Progress goes to stderr.
 * Parameters: bench/payment/README.md.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import { Client } from 'pg';
import { newId, TOPICS } from '@admit/contracts';
import type { Stack } from '@admit/testing';
import { closedLoop, HttpClient, openLoop, round, type Answer, type LoadResult, type Request } from './load';
import {
  cpuReport,
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
} from './proc';
import { summariseProfile } from './profile';
import { loadStackModule } from './stack';
import {
  captureScript,
  pgbench,
  redisBenchmark,
  run,
  startBroker,
  stopBroker,
  type Broker,
  type PgbenchResult,
  type RedisBenchResult,
} from './tools';

const num = (name: string, def: number, min = 1): number => {
  const v = Number(process.env[name]);
  return process.env[name] !== undefined && Number.isFinite(v) && v >= min ? v : def;
};
const list = (name: string, def: number[]): number[] => {
  const v = (process.env[name] ?? '')
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
  return v.length > 0 ? v : def;
};

const PROFILE = process.env['BENCH_PROFILE'] === '1';
const P = {
  clientLevels: list('BENCH_CLIENTS', [8, 16, 32]),
  warmupSec: num('BENCH_WARMUP_SEC', 5, 0),
  levelSec: num('BENCH_LEVEL_SEC', 15),
  levelSkipSec: 1,
  halfSec: num('BENCH_HALF_SEC', 15),
  halfSkipSec: 2,
  replaySec: num('BENCH_REPLAY_SEC', 10),
  replayClients: process.env['BENCH_REPLAY_CLIENTS'] ? num('BENCH_REPLAY_CLIENTS', 16) : null,
  pgbenchSec: num('BENCH_PGBENCH_SEC', 15),
  pgbenchExtendedSec: num('BENCH_PGBENCH_EXTENDED_SEC', 8, 0),
  pgbenchSingleSec: num('BENCH_PGBENCH_SINGLE_SEC', 5, 0),
  redisRequests: num('BENCH_REDIS_REQUESTS', 200_000),
  redisKeyspace: 10_000,
  orders: num('BENCH_ORDERS', 200_000),
  captureIdempotencyKeys: process.env['BENCH_IDEMPOTENCY_KEYS'] !== '0',
  keepOtherServices: process.env['BENCH_KEEP_OTHER_SERVICES'] === '1',
  portBase: num('BENCH_PORT_BASE', 18000),
  stackName: 'bench_payment',
  profileClients: num('BENCH_PROFILE_CLIENTS', 16),
  profileSec: num('BENCH_PROFILE_SEC', 15),
};
const TARGETS = { captureVsPgbench: 0.5, halfLoadP99Ms: 50, replaysPerSec: 5000, rssMb: 256 };

const say = (msg: string): void =>
  void process.stderr.write(`[bench:payment ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** The repository root (the directory of the `admit` package.json), from src or dist. */
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

function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
}

async function pgQuery<T>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

async function postJson(url: string, key: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body: parsed };
}

// ---------------------------------------------------------------------------- requests

/** A well-formed payment code (18 digits, 28…) ending 0000–0999: the sandbox pays it at once. */
function payNowCode(): string {
  const digits = (n: number): string => Array.from(randomBytes(n), (b) => String(b % 10)).join('');
  return `28${digits(12)}0${digits(3)}`;
}

/**
 * Orders for the captures. The payment service accepts an order it knows from ticketing's
 * `order.placed` events (its projection `orders_known`); the bench writes that projection's rows
 * directly (what the consumer would write for `order.placed`), in bulk, before the load. Without
 * the table (an older payment service) any well-formed order id is accepted.
 */
async function preCreateOrders(database: string, merchantId: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => newId('order'));
  const c = new Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` });
  await c.connect();
  try {
    const [t] = (await c.query(`SELECT to_regclass('orders_known') IS NOT NULL AS exists`)).rows as {
      exists: boolean;
    }[];
    if (!t?.exists) return ids;
    for (let i = 0; i < ids.length; i += 50_000) {
      await c.query(
        `INSERT INTO orders_known (order_id, merchant_id, amount_due, currency, status)
         SELECT id, $2, 1000 + (ord::int % 9000), 'CNY', 'open' FROM unnest($1::text[]) WITH ORDINALITY AS u(id, ord)`,
        [ids.slice(i, i + 50_000), merchantId],
      );
    }
    await c.query('ANALYZE orders_known');
    return ids;
  } finally {
    await c.end();
  }
}

class Captures {
  okCount = 0;
  private seq = 0;

  constructor(
    private readonly key: string,
    private readonly runId: string,
    private readonly idempotencyKeys: boolean,
    private readonly orders: string[],
  ) {}

  /** The next capture, on its own pre-created order. */
  next = (): Request => {
    const i = this.seq++;
    const orderId = this.orders[i] ?? `ord_${'0'.repeat(25)}`; // past the pool: a 404, counted as not ok
    return {
      path: '/v1/payments',
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(this.idempotencyKeys ? { 'idempotency-key': `${this.runId}-${i}` } : {}),
      },
      body: JSON.stringify({
        orderId,
        amount: { value: 1000 + (i % 9000), currency: 'CNY' },
        paymentCode: payNowCode(),
      }),
    };
  };

  ok = (a: Answer): boolean => {
    const good = a.status === 201 && a.body.includes('"status":"succeeded"');
    if (good) this.okCount++;
    return good;
  };

  get sent(): number {
    return this.seq;
  }
}

// ---------------------------------------------------------------------------- phases

type Phase = LoadResult & {
  clients?: number;
  cpu: CpuReport;
  paymentRssMb: { samples: number; maxMb: number; meanMb: number };
  loadAvg1m: number;
  walletNotificationsReceived?: number;
  cpuMsPerCapture?: ReturnType<typeof costPerOp>;
  notificationDrainBefore?: { waitedSec: number; backlogLeft: number };
};

/** Runs `work` and reports the CPU of every component over its counted window [from, to]. */
async function withCpu<T extends LoadResult>(
  pids: () => Pids,
  dbPrefix: string,
  sampler: RssSampler | null,
  skipMs: number,
  work: () => Promise<T>,
): Promise<T & Omit<Phase, keyof LoadResult>> {
  const cores = cpus().length;
  const load1 = loadavg()[0] ?? 0;
  const done = { v: false };
  const p = work().finally(() => {
    done.v = true;
  });
  await Promise.race([p.catch(() => undefined), sleep(skipMs)]);
  // samples every 250 ms until the load ends; the window is the first to the last of them
  const samples: CpuSample[] = [cpuSample(pids(), dbPrefix)];
  while (!done.v) {
    await Promise.race([p.catch(() => undefined), sleep(250)]);
    if (!done.v) samples.push(cpuSample(pids(), dbPrefix));
  }
  const value = await p;
  const span = (samples[samples.length - 1] as CpuSample).at - (samples[0] as CpuSample).at;
  if (span < 1000) samples.push(cpuSample(pids(), dbPrefix));
  return {
    ...value,
    cpu: cpuReportOver(samples, cores),
    paymentRssMb: sampler?.between(value.from, value.to) ?? { samples: 0, maxMb: 0, meanMb: 0 },
    loadAvg1m: round(load1, 2),
  };
}

async function cpuOfTool<T>(
  pids: () => Pids,
  dbPrefix: string,
  work: Promise<T>,
  skipMs = 1000,
): Promise<{ value: T; cpu: CpuReport | null }> {
  const cores = cpus().length;
  let done = false;
  const finished = work.finally(() => {
    done = true;
  });
  const start = Date.now();
  const samples: CpuSample[] = [];
  while (!done) {
    await Promise.race([finished.catch(() => undefined), sleep(250)]);
    if (done) break;
    const s = cpuSample(pids(), dbPrefix);
    if (Date.now() - start >= skipMs) samples.push(s);
  }
  const value = await finished;
  const span = samples.length > 1 ? (samples[samples.length - 1] as CpuSample).at - (samples[0] as CpuSample).at : 0;
  return { value, cpu: span >= 1000 ? cpuReportOver(samples, cores) : null };
}

/**
 * CPU time per operation (ms of one core) by component, from a window's CPU shares and its rate.
 * Much less sensitive to other work on the machine than the rate itself.
 */
function costPerOp(cpu: CpuReport | null, opsPerSec: number) {
  if (!cpu || opsPerSec <= 0) return null;
  const ms = (pct: number): number => round(((pct / 100) * 1000) / opsPerSec, 3);
  const parts = {
    paymentService: ms(cpu.paymentServicePct),
    walletSandbox: ms(cpu.walletSandboxPct),
    postgresPaymentDb: ms(cpu.postgresByDbPct['payment'] ?? 0),
    postgresWalletDb: ms(cpu.postgresByDbPct['wallet'] ?? 0),
    postgresShared: ms(cpu.postgresSharedPct),
    redis: ms(cpu.redisPct),
    kafkaBroker: ms(cpu.kafkaBrokerPct),
    loadGenerator: ms(cpu.loadGeneratorPct),
    measuringTool: ms(cpu.measuringToolPct),
  };
  return {
    ...parts,
    total: round(
      Object.values(parts).reduce((a, b) => a + b, 0),
      3,
    ),
  };
}

function describe(r: LoadResult, unit: string): string {
  const bad = r.notOk > 0 ? `, ${r.notOk} not ok ${JSON.stringify(r.outcomes)}` : '';
  return `${r.okPerSec} ${unit}/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms${bad}`;
}

/** Machine busy % (all cores) over 2 s; with `maxWaitSec`, waits up to that long for it to be under 50 %. */
async function waitQuiet(maxWaitSec: number): Promise<number> {
  const until = Date.now() + maxWaitSec * 1000;
  for (;;) {
    const a = cpuSample({ bench: process.pid }, '-');
    await sleep(2000);
    const busy = cpuReport(a, cpuSample({ bench: process.pid }, '-'), cpus().length).machineBusyPctOfAllCores;
    if (busy < 50 || Date.now() >= until) {
      say(
        `machine ${busy} % busy before the run (load average ${loadavg()
          .map((l) => round(l, 2))
          .join(' ')})`,
      );
      return busy;
    }
    say(`machine ${busy} % busy; waiting for it to quieten (up to ${Math.round((until - Date.now()) / 1000)} s more)`);
    await sleep(3000);
  }
}

// ---------------------------------------------------------------------------- emergency stop

/**
 * If the bench dies abruptly (an uncaught error, Ctrl-C), stop what it started: the stack's
 * processes (found as the listeners on the stack's ports) and the private broker.
 */
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

// ---------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const root = repoRoot();
  const started = new Date();
  const runId = `bp${started.getTime().toString(36)}`;
  const loadStart = loadavg();
  const cores = cpus().length;
  const dbPrefix = `admit_${P.stackName}_`;
  const { startStack } = loadStackModule(root);
  const busyBefore = await waitQuiet(num('BENCH_WAIT_QUIET_SEC', 0, 0));

  say(`Kafka: ${process.env['BENCH_KAFKA_BROKERS'] ? 'given broker' : 'private broker (infra/kafka/start.sh)'}`);
  let brokerForEmergency: Broker | null = null;
  const onFatal = (why: string): void => {
    say(`${why}: stopping the stack and the broker`);
    emergencyStop(root, brokerForEmergency);
    process.exit(1);
  };
  process.on('uncaughtException', (err) => onFatal(`uncaught ${err.stack ?? String(err)}`));
  process.on('SIGINT', () => onFatal('SIGINT'));
  process.on('SIGTERM', () => onFatal('SIGTERM'));
  const broker = await startBroker(root, 'payment', 19192);
  brokerForEmergency = broker;
  let stack: Stack | undefined;
  let redis: Redis | undefined;
  let merchantId: string | undefined;
  const profileDir = join(root, 'test-artifacts', 'bench-payment-profile', runId);
  try {
    say(`starting the stack (${P.stackName}, ports ${P.portBase}+)${PROFILE ? ' with the CPU-profile preload' : ''}`);
    if (PROFILE) mkdirSync(profileDir, { recursive: true });
    stack = await startStack({
      name: P.stackName,
      portBase: P.portBase,
      env: {
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: broker.brokers,
        SANDBOX_LATENCY_MS: '0',
        // The integrity check counts the events in `outbox_events`: keep a copy of published
        // rows (one more row write per event than production, which keeps none; ADR 0008).
        OUTBOX_KEEP_PUBLISHED_MS: String(3600_000),
        // The sandbox sends at most 20 notifications per tick; at the default 200 ms tick that is
        // 100/s, less than the capture rate. 50 ms lets notifications keep up with the captures,
        // so their handling in the payment service falls inside the window it belongs to.
        SANDBOX_TICK_MS: String(num('BENCH_SANDBOX_TICK_MS', 50)),
        // Node 20 refuses --cpu-prof in NODE_OPTIONS: a preload profiles on SIGWINCH instead
        ...(PROFILE
          ? {
              NODE_OPTIONS: `--require ${join(__dirname, 'cpu-profile-preload.js')}`,
              BENCH_CPU_PROFILE_DIR: profileDir,
            }
          : {}),
      },
      logDir: join(root, 'test-artifacts', 'logs', P.stackName),
    });
    // Only the payment service and the sandbox are under test. The consumers of `payments`
    // (ticketing, reporting) and promotions would spend the same two cores on every event.
    if (!P.keepOtherServices) for (const s of ['ticketing', 'promotions', 'reporting'] as const) stack.kill(s);

    const paymentUrl = new URL(stack.urls.payment);
    const onboard = await postJson(`${stack.urls.payment}/v1/merchants`, stack.acquirerKey, {
      name: 'Bench Attraction',
      country: 'CN',
      city: 'Hangzhou',
      timezone: 'Asia/Shanghai',
      mcc: '7991',
      settlementCurrency: 'CNY',
    });
    if (onboard.status !== 201)
      throw new Error(`merchant onboarding: ${onboard.status} ${JSON.stringify(onboard.body)}`);
    const created = onboard.body as { id: string; apiKey: { secret: string } };
    merchantId = created.id;
    const key = created.apiKey.secret;

    const paymentPid =
      (await pidListeningOn(P.portBase + 1)) ??
      pidByCommand('dist/services/payment/src/main.js', `PAYMENT_PORT=${P.portBase + 1}`);
    const sandboxPid =
      (await pidListeningOn(P.portBase + 10)) ??
      pidByCommand('dist/tools/wallet-sandbox/src/main.js', `SANDBOX_PORT=${P.portBase + 10}`);
    if (!paymentPid) throw new Error('cannot find the payment process');
    const redisPid = (await pidListeningOn(6379)) ?? processByName('redis-server');
    const brokerPid = broker.dataDir
      ? kafkaPid(broker.dataDir)
      : await pidListeningOn(Number(broker.brokers.split(',')[0]?.split(':')[1] ?? 9092));
    let toolPid: number | undefined;
    const pids = (): Pids => ({
      bench: process.pid,
      payment: paymentPid,
      sandbox: sandboxPid,
      redis: redisPid,
      kafka: brokerPid,
      tool: toolPid,
    });
    say(
      `payment pid ${paymentPid}, sandbox pid ${sandboxPid ?? '?'}, redis pid ${redisPid ?? '?'}, broker pid ${brokerPid ?? '?'}`,
    );

    say(`pre-creating ${P.orders} orders`);
    const orders = await preCreateOrders(stack.databases.payment, merchantId, P.orders);
    const captures = new Captures(key, runId, P.captureIdempotencyKeys, orders);
    const client = new HttpClient(paymentUrl.hostname, Number(paymentUrl.port), 256);
    const first = await client.post(captures.next());
    if (!captures.ok(first)) throw new Error(`a first capture failed: ${first.status} ${first.body.slice(0, 500)}`);
    const rssBeforeLoadMb = round((memoryKb(paymentPid)?.rss ?? 0) / 1024);
    const sampler = new RssSampler(paymentPid);
    sampler.start();

    const notificationsBetween = async (from: number, to: number): Promise<number> => {
      const [r] = await pgQuery<{ n: number }>(
        stack!.databases.payment,
        `SELECT count(*)::int AS n FROM wallet_notifications WHERE received_at >= $1 AND received_at < $2`,
        [new Date(from), new Date(to)],
      );
      return r?.n ?? 0;
    };
    /**
     * The wallet notifies every paid trade asynchronously and the payment service handles each
     * notification (verify, store, confirm by query). Before the next phase, wait (up to 20 s) for
     * the notifications of the previous one, so each phase starts without another's backlog.
     */
    const drainNotifications = async (): Promise<{ waitedSec: number; backlogLeft: number }> => {
      const t0 = Date.now();
      for (;;) {
        const [r] = await pgQuery<{ n: number }>(
          stack!.databases.payment,
          `SELECT (SELECT count(*) FROM payments WHERE status = 'succeeded')
                - (SELECT count(*) FROM wallet_notifications WHERE processed_at IS NOT NULL) AS n`,
        );
        const backlog = Number(r?.n ?? 0);
        if (backlog <= 0 || Date.now() - t0 > 20_000) {
          return { waitedSec: round((Date.now() - t0) / 1000), backlogLeft: Math.max(0, backlog) };
        }
        await sleep(250);
      }
    };

    if (PROFILE) {
      /** Profiles the payment process during `work` (SIGWINCH on, SIGWINCH off → cpu-<pid>.cpuprofile). */
      const profiled = async <T extends LoadResult>(name: string, work: () => Promise<T>) => {
        const file = join(profileDir, `cpu-${paymentPid}.cpuprofile`);
        process.kill(paymentPid, 'SIGWINCH');
        const r = await withCpu(pids, dbPrefix, sampler, 1000, work);
        process.kill(paymentPid, 'SIGWINCH');
        for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
        if (!existsSync(file)) throw new Error(`no CPU profile written to ${file}`);
        await sleep(500); // written in one call; let it finish
        const kept = join(profileDir, `${name}-${paymentPid}.cpuprofile`);
        writeFileSync(kept, readFileSync(file));
        rmSync(file);
        return { load: r, profile: summariseProfile(kept) };
      };
      say(`profile: warm-up ${P.warmupSec}s, then captures with ${P.profileClients} clients for ${P.profileSec}s`);
      if (P.warmupSec > 0)
        await closedLoop({
          client,
          clients: 8,
          seconds: P.warmupSec,
          skipSec: 0,
          next: captures.next,
          ok: captures.ok,
        });
      const cap = await profiled('captures', () =>
        closedLoop({
          client,
          clients: P.profileClients,
          seconds: P.profileSec,
          skipSec: P.levelSkipSec,
          next: captures.next,
          ok: captures.ok,
        }),
      );
      say(
        `profiled captures: ${describe(cap.load, 'captures')}, payment process ${cap.load.cpu.paymentServicePct} % of a core`,
      );
      const replayReq: Request = { ...captures.next() };
      replayReq.headers = { ...replayReq.headers, 'idempotency-key': `${runId}-replay` };
      const original = await client.post(replayReq);
      const rep = await profiled('replays', () =>
        closedLoop({
          client,
          clients: P.profileClients,
          seconds: Math.min(P.profileSec, 10),
          skipSec: P.levelSkipSec,
          next: () => replayReq,
          ok: (a) => a.status === 201 && a.replayed && a.body === original.body,
        }),
      );
      say(
        `profiled replays: ${describe(rep.load, 'replays')}, payment process ${rep.load.cpu.paymentServicePct} % of a core`,
      );
      sampler.stop();
      client.close();
      await stack.stop();
      stack = undefined;
      const finished = new Date();
      const out = {
        benchmark: 'payment-profile',
        runId,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        note: 'V8 CPU profile of the payment process during each load window only (sampling every 0.5 ms); percentages are of its busy (non-idle) time in the window.',
        machine: {
          cores,
          loadAvgStart: loadStart.map((l) => round(l, 2)),
          loadAvgEnd: loadavg().map((l) => round(l, 2)),
        },
        captures: { load: { ...cap.load, clients: P.profileClients }, profile: cap.profile },
        replays: { load: { ...rep.load, clients: P.profileClients }, profile: rep.profile },
      };
      const dir = join(root, 'bench', 'results');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `payment-profile-${stamp(finished)}.json`), `${JSON.stringify(out, null, 2)}\n`);
      for (const [what, sum] of [
        ['captures', cap.profile],
        ['replays', rep.profile],
      ] as const) {
        say(`${what}: busy ${sum.busyPct} % of ${sum.profiledSec}s; self time by origin:`);
        for (const o of sum.byOrigin.slice(0, 12)) say(`  ${o.selfPct.toFixed(1).padStart(5)} %  ${o.origin}`);
        say(`${what}: top self time:`);
        for (const h of sum.topSelf.slice(0, 15))
          say(`  ${h.selfPct.toFixed(1).padStart(5)} %  ${h.function}  ${h.location}`);
      }
      say(`wrote bench/results/payment-profile-${stamp(finished)}.json`);
      return;
    }

    // --- 1a. warm-up, then closed loop at each client count
    if (P.warmupSec > 0) {
      say(`warm-up: 8 clients for ${P.warmupSec}s`);
      await closedLoop({ client, clients: 8, seconds: P.warmupSec, skipSec: 0, next: captures.next, ok: captures.ok });
    }
    const levels: Phase[] = [];
    for (const n of P.clientLevels) {
      const drained = await drainNotifications();
      say(`captures, closed loop: ${n} clients for ${P.levelSec}s`);
      const r = await withCpu(pids, dbPrefix, sampler, P.levelSkipSec * 1000, () =>
        closedLoop({
          client,
          clients: n,
          seconds: P.levelSec,
          skipSec: P.levelSkipSec,
          next: captures.next,
          ok: captures.ok,
        }),
      );
      const phase: Phase = {
        clients: n,
        ...r,
        cpuMsPerCapture: costPerOp(r.cpu, r.okPerSec),
        walletNotificationsReceived: await notificationsBetween(r.from, r.to),
        notificationDrainBefore: drained,
      };
      levels.push(phase);
      say(
        `  ${describe(r, 'captures')}, notifications ${round(phase.walletNotificationsReceived! / r.windowSec)}/s; CPU % of a core: payment ${r.cpu.paymentServicePct}, sandbox ${r.cpu.walletSandboxPct}, ` +
          `postgres ${round(r.cpu.postgresBenchDbsPct + r.cpu.postgresSharedPct)}, load generator ${r.cpu.loadGeneratorPct}, other ${r.cpu.otherWorkPct}; ` +
          `CPU ms per capture ${phase.cpuMsPerCapture?.total} (payment ${phase.cpuMsPerCapture?.paymentService}); RSS max ${r.paymentRssMb.maxMb} MB`,
      );
    }
    const best = levels.reduce((a, b) => (b.okPerSec > a.okPerSec ? b : a));
    const bestClients = best.clients ?? 8;

    // --- 1b. open loop at half the best rate
    const halfRate = best.okPerSec / 2;
    const halfDrained = await drainNotifications();
    say(`captures, open loop at half the best rate: ${round(halfRate)}/s for ${P.halfSec}s`);
    const halfRaw = await withCpu(pids, dbPrefix, sampler, P.halfSkipSec * 1000, () =>
      openLoop({
        client,
        ratePerSec: halfRate,
        seconds: P.halfSec,
        skipSec: P.halfSkipSec,
        next: captures.next,
        ok: captures.ok,
      }),
    );
    const half = {
      ...halfRaw,
      cpuMsPerCapture: costPerOp(halfRaw.cpu, halfRaw.okPerSec),
      walletNotificationsReceived: await notificationsBetween(halfRaw.from, halfRaw.to),
      notificationDrainBefore: halfDrained,
    };
    say(`  ${describe(half, 'captures')} (max in flight ${half.maxInFlight})`);

    // --- 3a. idempotent replays of one capture
    const replayClients = P.replayClients ?? bestClients;
    const replayReq: Request = { ...captures.next() };
    replayReq.headers = { ...replayReq.headers, 'idempotency-key': `${runId}-replay` };
    const original = await client.post(replayReq);
    if (!captures.ok(original))
      throw new Error(`the capture to replay failed: ${original.status} ${original.body.slice(0, 300)}`);
    const replayDrained = await drainNotifications();
    say(`idempotent replays: ${replayClients} clients for ${P.replaySec}s`);
    const replays = await withCpu(pids, dbPrefix, sampler, P.levelSkipSec * 1000, () =>
      closedLoop({
        client,
        clients: replayClients,
        seconds: P.replaySec,
        skipSec: P.levelSkipSec,
        next: () => replayReq,
        ok: (a) => a.status === 201 && a.replayed && a.body === original.body,
      }),
    );
    say(
      `  ${describe(replays, 'replays')}; payment ${replays.cpu.paymentServicePct} % of a core, redis ${replays.cpu.redisPct} %`,
    );

    // --- 4. memory
    sampler.stop();
    const mem = memoryKb(paymentPid);
    const loadWindow = { from: levels[0]?.from ?? Date.now(), to: replays.to };
    const rss = {
      ...sampler.between(loadWindow.from, loadWindow.to),
      beforeLoadMb: rssBeforeLoadMb,
      vmHwmMb: mem ? round(mem.hwm / 1024) : null,
      afterLoadMb: mem ? round(mem.rss / 1024) : null,
      definition:
        'VmRSS of the payment process (/proc/<pid>/status) sampled every 250 ms from the first measured capture window to the end of the replays; vmHwmMb = its peak RSS over its whole life',
    };
    say(
      `payment RSS: ${rssBeforeLoadMb} MB before the load; under load max ${rss.maxMb} MB, mean ${rss.meanMb} MB, VmHWM ${rss.vmHwmMb} MB`,
    );
    client.close();

    // --- integrity and what the limits need, before the stack goes
    const db = stack.databases.payment;
    await sleep(1000);
    const statuses = await pgQuery<{ status: string; n: number }>(
      db,
      `SELECT status, count(*)::int AS n FROM payments WHERE merchant_id = $1 GROUP BY status`,
      [merchantId],
    );
    const [events] = await pgQuery<{ succeeded: number; unpublished: number }>(
      db,
      `SELECT (SELECT count(*) FROM outbox_events WHERE headers->>'event-type' = 'payment.succeeded')::int AS succeeded,
              (SELECT count(*) FROM outbox)::int AS unpublished`,
    );
    const [sample] = await pgQuery<{ value: string; headers: string }>(
      db,
      `SELECT value, headers::text AS headers FROM outbox_events WHERE headers->>'event-type' = 'payment.succeeded' ORDER BY id DESC LIMIT 1`,
    );
    const [notes] = await pgQuery<{ n: number }>(db, `SELECT count(*)::int AS n FROM wallet_notifications`);
    const byStatus = Object.fromEntries(statuses.map((s) => [s.status, s.n]));
    const integrity = {
      capturesAnsweredSucceeded: captures.okCount,
      capturesSent: captures.sent,
      paymentsByStatus: byStatus,
      paymentSucceededEvents: events?.succeeded ?? 0,
      outboxUnpublishedAtEnd: events?.unpublished ?? 0,
      walletNotificationsReceived: notes?.n ?? 0,
      holds:
        (byStatus['succeeded'] ?? 0) === captures.okCount &&
        (events?.succeeded ?? 0) === captures.okCount &&
        (byStatus['processing'] ?? 0) === 0,
    };
    say(
      `integrity: ${captures.okCount} answered succeeded, DB ${JSON.stringify(byStatus)}, ${integrity.paymentSucceededEvents} payment.succeeded events → ${integrity.holds ? 'ok' : 'MISMATCH'}`,
    );
    redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
    });
    await redis.connect();
    const replayRedisKey = `idem:payment:${merchantId}:${createHash('sha256').update(`${runId}-replay`).digest('hex')}`;
    const storedReplay =
      (await redis.get(replayRedisKey)) ??
      JSON.stringify({ state: 'done', status: 201, body: JSON.parse(original.body) as unknown });

    say('stopping the stack');
    await stack.stop();
    stack = undefined;

    // --- 2. pgbench: the capture's durable writes, best N clients
    if (!sample) throw new Error('no payment.succeeded event in the outbox to model pgbench on');
    const script = captureScript({
      merchantId,
      envelope: sample.value,
      headers: sample.headers,
      topic: TOPICS.payments.name,
    });
    say(`pgbench: ${bestClients} clients, ${P.pgbenchSec}s -M prepared`);
    const { value: pgb, cpu: pgbCpu } = await cpuOfTool(
      pids,
      dbPrefix,
      pgbench({ database: db, clients: bestClients, seconds: P.pgbenchSec, script, onSpawn: (pid) => (toolPid = pid) }),
    );
    say(`  ${pgb.tps} tps (= captures/s), latency avg ${pgb.latencyAvgMs} ms`);
    let pgbExt: (PgbenchResult & { cpu: CpuReport | null }) | null = null;
    if (P.pgbenchExtendedSec > 0) {
      say(`pgbench: ${bestClients} clients, ${P.pgbenchExtendedSec}s -M extended (node-pg's protocol, context)`);
      const { value, cpu } = await cpuOfTool(
        pids,
        dbPrefix,
        pgbench({
          database: db,
          clients: bestClients,
          seconds: P.pgbenchExtendedSec,
          script,
          mode: 'extended',
          onSpawn: (pid) => (toolPid = pid),
        }),
      );
      pgbExt = { ...value, cpu };
      say(`  ${value.tps} tps`);
    }
    // the latency floor of a capture's durable writes: one client, nothing queued behind it
    let pgbSingle: PgbenchResult | null = null;
    if (P.pgbenchSingleSec > 0) {
      say(`pgbench: 1 client, ${P.pgbenchSingleSec}s -M prepared (latency of one capture's durable writes, unloaded)`);
      pgbSingle = await pgbench({ database: db, clients: 1, seconds: P.pgbenchSingleSec, script });
      say(`  ${pgbSingle.tps} tps, latency avg ${pgbSingle.latencyAvgMs} ms`);
    }

    // --- 3b. redis-benchmark: the commands of one replay (SET NX that finds the key, GET), same value size
    const benchKey = `bench:payment:${runId}:__rand_int__`;
    const rb = async (label: string, command: string[]): Promise<RedisBenchResult & { cpu: CpuReport | null }> => {
      const { value, cpu } = await cpuOfTool(
        pids,
        dbPrefix,
        redisBenchmark({
          host: '127.0.0.1',
          port: 6379,
          clients: replayClients,
          requests: P.redisRequests,
          keyspace: P.redisKeyspace,
          command,
          label,
          onSpawn: (pid) => (toolPid = pid),
        }),
        500,
      );
      say(`  ${label}: ${value.rps} requests/s, p99 ${value.p99Ms} ms`);
      return { ...value, cpu };
    };
    say(
      `redis-benchmark: ${replayClients} clients, ${P.redisRequests} requests each, values of ${storedReplay.length} bytes`,
    );
    const rSet = await rb(`SET key <${storedReplay.length} B> PX`, ['SET', benchKey, storedReplay, 'PX', '300000']);
    const rGet = await rb('GET key', ['GET', benchKey]);
    const rSetNx = await rb('SET key <marker> PX NX (key exists)', [
      'SET',
      benchKey,
      '{"state":"in_progress"}',
      'PX',
      '120000',
      'NX',
    ]);

    // --- CPU per operation, and what it implies for a machine with nothing else on it
    const costs = {
      capture: costPerOp(best.cpu, best.okPerSec),
      replay: costPerOp(replays.cpu, replays.okPerSec),
      pgbenchTransaction: costPerOp(pgbCpu, pgb.tps),
      definition:
        'ms of CPU (one core) per operation by component = CPU share in the window ÷ rate; capture at the best level',
    };
    const pgPerCapture = costs.capture ? costs.capture.postgresPaymentDb + costs.capture.postgresShared : null;
    const pgPerPgbenchTx = costs.pgbenchTransaction
      ? costs.pgbenchTransaction.postgresPaymentDb + costs.pgbenchTransaction.postgresShared
      : null;
    const per = (ms: number | null | undefined, n = 1): number | null => (ms && ms > 0 ? round((n * 1000) / ms) : null);
    const projections = {
      capturesPerSecIfPaymentThreadHadOneCore: per(costs.capture?.paymentService),
      capturesPerSecIfStackHadAllCores: per(
        costs.capture ? costs.capture.total - costs.capture.loadGenerator : null,
        cores,
      ),
      pgbenchTpsIfItHadAllCores: per(costs.pgbenchTransaction?.total, cores),
      replaysPerSecIfPaymentThreadHadOneCore: per(costs.replay?.paymentService),
      note: 'derived from CPU per operation, not measured: what the CPU cost alone allows (fsync and round-trip latency still apply)',
    };

    // --- ratios and targets
    const captureRate = best.okPerSec;
    const replayRedisBound = 1 / (1 / rGet.rps + 1 / rSetNx.rps);
    const ratios = {
      captureVsPgbench: round(captureRate / pgb.tps, 3),
      captureVsPgbenchExtended: pgbExt ? round(captureRate / pgbExt.tps, 3) : null,
      halfLoadP99VsTarget: round(half.latencyMs.p99 / TARGETS.halfLoadP99Ms, 3),
      halfLoadP50VsDurableWritesLatency: pgbSingle?.latencyAvgMs
        ? round(half.latencyMs.p50 / pgbSingle.latencyAvgMs, 2)
        : null,
      halfLoadP99VsDurableWritesLatency: pgbSingle?.latencyAvgMs
        ? round(half.latencyMs.p99 / pgbSingle.latencyAvgMs, 2)
        : null,
      capturePostgresCpuVsPgbenchTransaction:
        pgPerCapture !== null && pgPerPgbenchTx ? round(pgPerCapture / pgPerPgbenchTx, 2) : null,
      replaysVsTarget: round(replays.okPerSec / TARGETS.replaysPerSec, 3),
      replaysVsRedisGet: round(replays.okPerSec / rGet.rps, 4),
      replaysVsRedisReplayCommands: round(replays.okPerSec / replayRedisBound, 4),
      replaysVsCaptures: round(replays.okPerSec / captureRate, 2),
      rssVsLimit: round(Math.max(rss.maxMb, 0) / TARGETS.rssMb, 3),
    };
    const targets = {
      captureThroughput: {
        rule: `captures/s ≥ ${TARGETS.captureVsPgbench} × pgbench (capture's durable writes, -M prepared, same clients)`,
        ratio: ratios.captureVsPgbench,
        holds: captureRate >= TARGETS.captureVsPgbench * pgb.tps,
      },
      halfLoadLatency: {
        rule: `p99 < ${TARGETS.halfLoadP99Ms} ms, open loop at half the reached throughput`,
        p99Ms: half.latencyMs.p99,
        holds: half.latencyMs.p99 < TARGETS.halfLoadP99Ms && half.notOk === 0,
      },
      idempotentReplays: {
        rule: `replays ≥ ${TARGETS.replaysPerSec}/s`,
        perSec: replays.okPerSec,
        holds: replays.okPerSec >= TARGETS.replaysPerSec,
      },
      paymentRss: {
        rule: `payment process VmRSS < ${TARGETS.rssMb} MB under load (max of the samples)`,
        maxMb: rss.maxMb,
        holds: rss.maxMb > 0 && rss.maxMb < TARGETS.rssMb,
      },
    };
    // Which resource ran out at the best capture rate
    // Which resource ran out at the best capture rate, and who used the CPU
    const users = [
      ['payment service', best.cpu.paymentServicePct],
      ['PostgreSQL (payment db)', best.cpu.postgresByDbPct['payment'] ?? 0],
      ['wallet sandbox', best.cpu.walletSandboxPct],
      ['PostgreSQL (wallet db)', best.cpu.postgresByDbPct['wallet'] ?? 0],
      ['Kafka broker', best.cpu.kafkaBrokerPct],
      ['load generator', best.cpu.loadGeneratorPct],
      ['other work', best.cpu.otherWorkPct],
    ] as const;
    const top = [...users]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([n, v]) => `${n} ${v} %`)
      .join(', ');
    const bottleneck =
      best.cpu.paymentServicePct >= 85
        ? `payment service: its one Node.js thread is saturated (${top} of one core)`
        : best.cpu.machineBusyPctOfAllCores >= 90
          ? `machine CPU: ${best.cpu.machineBusyPctOfAllCores} % of ${cores} cores busy; biggest users ${top} of one core`
          : `neither the payment thread nor the machine CPU is saturated (latency-bound: round trips, commits); ${top} of one core`;

    const contention: Record<string, number> = {
      ...Object.fromEntries(levels.map((l) => [`captures${l.clients}`, l.cpu.otherWorkPct])),
      halfLoad: half.cpu.otherWorkPct,
      replays: replays.cpu.otherWorkPct,
      pgbench: pgbCpu?.otherWorkPct ?? 0,
    };
    const allowance = 50;
    const warnings = Object.entries(contention)
      .filter(([, v]) => v > allowance)
      .map(([k, v]) => `${k}: other work took ${v} % of a core (allowance ${allowance} %); its figure is unreliable`);

    const [pgInfo] = await pgQuery<{ v: string; sc: string; fsync: string }>(
      'postgres',
      `SELECT current_setting('server_version') AS v, current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync`,
    );
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
    const version = (pkg: string): string => {
      try {
        return (
          JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
        ).version;
      } catch {
        return 'unknown';
      }
    };
    const kafkaVersion = (() => {
      try {
        return (
          /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
            readFileSync(join(root, 'infra/kafka/pom.xml'), 'utf8'),
          )?.[1] ?? 'unknown'
        );
      } catch {
        return 'unknown';
      }
    })();
    const finished = new Date();
    const strip = <T extends LoadResult>(r: T): Omit<T, 'from' | 'to'> & { window: { from: string; to: string } } => {
      const { from, to, ...rest } = r;
      return { ...rest, window: { from: new Date(from).toISOString(), to: new Date(to).toISOString() } };
    };
    const report = {
      benchmark: 'payment',
      runId,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSec: round((finished.getTime() - started.getTime()) / 1000),
      machine: {
        cores,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        memoryGb: round(totalmem() / 1024 ** 3, 1),
        node: process.version,
        postgres: pgInfo?.v ?? 'unknown',
        synchronousCommit: pgInfo?.sc,
        fsync: pgInfo?.fsync,
        redis: redisVersion,
        kafka: kafkaVersion,
        pgbench: (await run('pgbench', ['--version'])).stdout.trim(),
        redisBenchmark: (await run('redis-benchmark', ['--version'])).stdout.trim(),
        nestjs: version('@nestjs/core'),
        pg: version('pg'),
        ioredis: version('ioredis'),
        loadAvgStart: loadStart.map((l) => round(l, 2)),
        loadAvgEnd: loadavg().map((l) => round(l, 2)),
        machineBusyPctBeforeRun: busyBefore,
      },
      parameters: {
        ...P,
        profileClients: undefined,
        profileSec: undefined,
        replayClients,
        pgbenchClients: bestClients,
        kafka: broker.private ? `private broker ${broker.brokers} (infra/kafka/start.sh, wiped after)` : broker.brokers,
        stack: `startStack name=${P.stackName} portBase=${P.portBase}, LOG_LEVEL=warn, SANDBOX_LATENCY_MS=0, SANDBOX_TICK_MS=${num('BENCH_SANDBOX_TICK_MS', 50)}, other defaults (PAYMENT_SYNC_WAIT_MS 8000, wallet keep-alive agent)`,
        otherServices: P.keepOtherServices ? 'running' : 'ticketing, promotions, reporting stopped after start-up',
        paymentCodes: '18 digits 28…, last four 0000–0999 (paid at once)',
        httpClient: 'node:http, keep-alive Agent (one connection per client), same process as the orchestration',
        targets: TARGETS,
      },
      captures: {
        closedLoop: levels.map(strip),
        best: {
          clients: bestClients,
          capturesPerSec: best.okPerSec,
          p50Ms: best.latencyMs.p50,
          p99Ms: best.latencyMs.p99,
        },
        halfLoadOpenLoop: strip(half),
        bottleneck,
      },
      replays: {
        ...strip(replays),
        clients: replayClients,
        notificationDrainBefore: replayDrained,
        storedResponseBytes: storedReplay.length,
        path: 'replay fast path before Nest (ADR 0009): auth (cached key lookup) → the done record from memory, or Redis GET + PTTL once → stored status/body',
      },
      paymentRss: rss,
      pgbench: { ...pgb, cpu: pgbCpu },
      pgbenchExtendedProtocol: pgbExt,
      pgbenchOneClient: pgbSingle,
      redisBenchmark: {
        set: rSet,
        get: rGet,
        setNxExisting: rSetNx,
        replayCommandsBoundPerSec: round(replayRedisBound),
        note: 'a replay is one SET NX that finds the key + one GET: bound = 1 / (1/GET + 1/SET NX)',
      },
      integrity,
      costs,
      projections,
      ratios,
      targets,
      quality: {
        restOfMachinePctOfOneCore: contention,
        allowancePct: allowance,
        warnings,
        reliable: warnings.length === 0,
      },
    };
    const dir = join(root, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const json = `${JSON.stringify(report, null, 2)}\n`;
    writeFileSync(join(dir, `payment-${stamp(finished)}.json`), json);
    writeFileSync(join(dir, 'payment-latest.json'), json);
    const mark = (h: boolean): string => (h ? 'PASS' : 'FAIL');
    say(
      `captures ${captureRate}/s (${bestClients} clients) vs pgbench ${pgb.tps}/s → ${ratios.captureVsPgbench} ${mark(targets.captureThroughput.holds)}`,
    );
    say(
      `half load ${half.okPerSec}/s: p99 ${half.latencyMs.p99} ms (${ratios.halfLoadP99VsTarget} of 50 ms; ` +
        `${ratios.halfLoadP99VsDurableWritesLatency} × one capture's durable writes unloaded) ${mark(targets.halfLoadLatency.holds)}`,
    );
    say(
      `replays ${replays.okPerSec}/s (${ratios.replaysVsTarget} of 5000; ${ratios.replaysVsRedisGet} of redis GET ${rGet.rps}/s) ${mark(targets.idempotentReplays.holds)}`,
    );
    say(`payment RSS max ${rss.maxMb} MB (${ratios.rssVsLimit} of 256 MB) ${mark(targets.paymentRss.holds)}`);
    say(
      `CPU ms per capture: ${costs.capture?.total} in all (payment ${costs.capture?.paymentService}, sandbox ${costs.capture?.walletSandbox}, ` +
        `postgres ${pgPerCapture === null ? '?' : round(pgPerCapture, 3)} + wallet db ${costs.capture?.postgresWalletDb}); pgbench: postgres ${pgPerPgbenchTx === null ? '?' : round(pgPerPgbenchTx, 3)} per transaction`,
    );
    say(
      `derived: ${projections.capturesPerSecIfPaymentThreadHadOneCore} captures/s if the payment thread had a core, ` +
        `${projections.capturesPerSecIfStackHadAllCores} if the stack had the ${cores} cores; replays ${projections.replaysPerSecIfPaymentThreadHadOneCore}/s per core`,
    );
    say(`bottleneck: ${bottleneck}`);
    for (const w of warnings) say(`WARNING ${w}`);
    say(`wrote bench/results/payment-${stamp(finished)}.json and payment-latest.json (${report.durationSec}s)`);
  } finally {
    if (stack) await stack.stop().catch(() => undefined);
    if (merchantId) {
      redis ??= new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
      // our idempotency records and redis-benchmark keys only
      try {
        for (const pattern of [`idem:payment:${merchantId}:*`, `bench:payment:${runId}:*`]) {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
            cursor = next;
            if (keys.length > 0) await redis.unlink(...keys);
          } while (cursor !== '0');
        }
      } catch (err) {
        say(`could not delete the bench's Redis keys: ${String(err)}`);
      }
    }
    redis?.disconnect();
    await stopBroker(root, broker).catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
