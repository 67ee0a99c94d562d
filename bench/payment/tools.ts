/**
 * The machine's own limits, measured with the tools PostgreSQL and Redis ship: `pgbench` doing
 * the durable writes of one capture, `redis-benchmark` doing the Redis commands of one replay.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type CommandResult = { code: number; stdout: string; stderr: string; seconds: number };

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; onSpawn?: (pid: number) => void } = {},
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

// ---------------------------------------------------------------------------- pgbench

export type PgbenchMode = 'prepared' | 'extended';

export type PgbenchResult = {
  tps: number;
  latencyAvgMs: number | null;
  transactions: number | null;
  failed: number | null;
  mode: PgbenchMode;
  clients: number;
  seconds: number;
  command: string;
  script: string;
};

export function parsePgbench(stdout: string): Pick<PgbenchResult, 'tps' | 'latencyAvgMs' | 'transactions' | 'failed'> {
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  if (!tps) throw new Error(`cannot parse pgbench output:\n${stdout.slice(-2000)}`);
  const lat = /latency average = ([\d.]+) ms/.exec(stdout);
  const tx = /number of transactions actually processed: (\d+)/.exec(stdout);
  const failed = /number of failed transactions: (\d+)/.exec(stdout);
  return {
    tps: Number(tps[1]),
    latencyAvgMs: lat ? Number(lat[1]) : null,
    transactions: tx ? Number(tx[1]) : null,
    failed: failed ? Number(failed[1]) : null,
  };
}

/** An E'' literal; ':' written as \x3a because pgbench takes `:name` inside a literal for a variable. */
const lit = (s: string): string => `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/:/g, '\\x3a')}'`;

/**
 * One pgbench "transaction" = the durable writes of one capture, statement for statement and
 * transaction for transaction as the payment service commits them (payments.service.ts and
 * payment-store.ts markSucceeded):
 *   1. `INSERT INTO payments … RETURNING *` on its own (autocommit), before the wallet call;
 *   2. `BEGIN; UPDATE payments SET status = 'succeeded' … WHERE … RETURNING *;
 *       INSERT INTO outbox (the real payment.succeeded envelope and headers); COMMIT`.
 * Same database, tables, indexes, foreign key and outbox NOTIFY trigger as the service.
 */
export function captureScript(o: { merchantId: string; envelope: string; headers: string; topic: string }): string {
  const id = `'pay_pgb' || :n`;
  return [
    `\\set n random(1, 9000000000000000000)`,
    `INSERT INTO payments (id, merchant_id, order_id, idempotency_key, partner_trans_id, status, amount_value, currency, payment_code_last4, description, store_id, wallet, resolve_phase, next_attempt_at, claim_token, correlation_id) ` +
      `VALUES (${id}, ${lit(o.merchantId)}, 'ord_pgb' || :n, 'idem_pgb' || :n, ${id}, 'processing', 1000, 'CNY', '0123', NULL, NULL, 'alipay', 'query', now() + make_interval(secs => 40), gen_random_uuid(), NULL) RETURNING *;`,
    `BEGIN;`,
    `UPDATE payments SET status = 'succeeded', wallet_transaction_id = '2026' || :n, paid_at = now(), exchange_rate = NULL, ` +
      `settlement_value = NULL, settlement_currency = NULL, resolved_by = 'sync', resolve_phase = NULL, next_attempt_at = NULL, claim_token = NULL, updated_at = now() ` +
      `WHERE id = ${id} AND status = 'processing' AND resolve_phase = 'query' RETURNING *;`,
    `INSERT INTO outbox (event_id, topic, message_key, value, headers) VALUES (gen_random_uuid(), ${lit(o.topic)}, ${id}, ${lit(o.envelope)}, ${lit(o.headers)}::jsonb);`,
    `END;`,
    '',
  ].join('\n');
}

export async function pgbench(o: {
  database: string;
  clients: number;
  seconds: number;
  script: string;
  mode?: PgbenchMode;
  onSpawn?: (pid: number) => void;
}): Promise<PgbenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'admit-bench-payment-'));
  const file = join(dir, 'capture.sql');
  writeFileSync(file, o.script);
  const mode = o.mode ?? 'prepared';
  const args = [
    '-n',
    '-M',
    mode,
    '-c',
    String(o.clients),
    '-j',
    String(Math.min(o.clients, 2)),
    '-T',
    String(o.seconds),
    '-f',
    file,
    '-h',
    '127.0.0.1',
    '-U',
    'postgres',
    o.database,
  ];
  try {
    const r = await run('pgbench', args, o.onSpawn ? { onSpawn: o.onSpawn } : {});
    if (r.code !== 0)
      throw new Error(`pgbench failed (${r.code}):\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
    return {
      ...parsePgbench(r.stdout),
      mode,
      clients: o.clients,
      seconds: o.seconds,
      command: `pgbench ${args.join(' ').replace(file, '<capture.sql>')}`,
      script: o.script,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------- redis-benchmark

export type RedisBenchResult = {
  command: string;
  rps: number;
  avgMs: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  requests: number;
  clients: number;
  invocation: string;
};

/**
 * `--csv`: a header line `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
 * "p95_latency_ms","p99_latency_ms","max_latency_ms"`, then one line per test.
 */
export function parseRedisBenchmarkCsv(
  stdout: string,
): Omit<RedisBenchResult, 'command' | 'requests' | 'clients' | 'invocation'> {
  const lines = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('"'));
  const header = (lines[0] ?? '').split(',').map((s) => s.replace(/"/g, ''));
  const last = lines[lines.length - 1] ?? '';
  if (lines.length < 2) throw new Error(`cannot parse redis-benchmark output:\n${stdout.slice(-1000)}`);
  const cells = last.split('","').map((s) => s.replace(/^"|"$/g, ''));
  // the test name (a custom command) may contain commas: count from the end
  const values = cells.slice(-(header.length - 1)).map(Number);
  const col = (name: string): number | null => {
    const i = header.indexOf(name);
    const v = i > 0 ? values[i - 1] : undefined;
    return v === undefined || !Number.isFinite(v) ? null : v;
  };
  const rps = col('rps');
  if (rps === null) throw new Error(`cannot parse redis-benchmark output:\n${stdout.slice(-1000)}`);
  return {
    rps,
    avgMs: col('avg_latency_ms'),
    p50Ms: col('p50_latency_ms'),
    p99Ms: col('p99_latency_ms'),
    maxMs: col('max_latency_ms'),
  };
}

/** One custom command (`__rand_int__` in it is replaced by a random key of `keyspace`), no pipelining. */
export async function redisBenchmark(o: {
  host: string;
  port: number;
  clients: number;
  requests: number;
  keyspace: number;
  command: string[];
  label: string;
  onSpawn?: (pid: number) => void;
}): Promise<RedisBenchResult> {
  const args = [
    '-h',
    o.host,
    '-p',
    String(o.port),
    '-c',
    String(o.clients),
    '-n',
    String(o.requests),
    '-r',
    String(o.keyspace),
    '-P',
    '1',
    '--csv',
    ...o.command,
  ];
  const r = await run('redis-benchmark', args, o.onSpawn ? { onSpawn: o.onSpawn } : {});
  if (r.code !== 0) throw new Error(`redis-benchmark failed (${r.code}):\n${r.stderr.slice(-2000)}`);
  const shown = args.map((a) => (a.length > 60 ? `<${a.length} bytes>` : a)).join(' ');
  return {
    command: o.label,
    ...parseRedisBenchmarkCsv(r.stdout),
    requests: o.requests,
    clients: o.clients,
    invocation: `redis-benchmark ${shown}`,
  };
}

// ---------------------------------------------------------------------------- private Kafka broker

export type Broker = { brokers: string; dataDir: string | null; private: boolean };

/**
 * A private single-node broker (infra/kafka/start.sh on other ports and a temporary data dir) so
 * a benchmark's events never land on the shared topics, where every other stack's services would
 * consume them. BENCH_KAFKA_BROKERS uses an existing broker instead; BENCH_KAFKA_PORT moves the
 * first port tried (other sessions start private brokers too, so the next free pair is taken).
 */
export async function startBroker(root: string, name: string, defaultPort: number): Promise<Broker> {
  const given = process.env['BENCH_KAFKA_BROKERS'];
  if (given) return { brokers: given, dataDir: null, private: false };
  const inUse = async (p: number): Promise<boolean> =>
    (await run('ss', ['-ltnH', `sport = :${p}`])).stdout.trim().length > 0;
  const first = Number(process.env['BENCH_KAFKA_PORT'] ?? defaultPort);
  let port = first;
  while ((await inUse(port)) || (await inUse(port + 1))) {
    port += 10;
    if (port > first + 200) throw new Error(`no free port pair for the private broker from ${first}`);
  }
  const dataDir = join(tmpdir(), `admit-bench-${name}-kafka-${port}`);
  const env = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(port + 1),
    KAFKA_DATA_DIR: dataDir,
    KAFKA_FRESH: '1',
  };
  const r = await run('bash', ['infra/kafka/start.sh'], { cwd: root, env });
  if (r.code !== 0) throw new Error(`private Kafka did not start:\n${r.stderr.slice(-2000)}`);
  return { brokers: `127.0.0.1:${port}`, dataDir, private: true };
}

export async function stopBroker(root: string, b: Broker): Promise<void> {
  if (!b.private || !b.dataDir) return;
  await run('bash', ['infra/kafka/stop.sh'], {
    cwd: root,
    env: { ...process.env, KAFKA_DATA_DIR: b.dataDir, KAFKA_WIPE: '1' },
  });
}
