/**
 * The two reference limits, measured on the same machine right after the backbone run:
 * Kafka's own ProducerPerformance (the broker's ceiling for records of the envelope's size,
 * acks=all) and pgbench (PostgreSQL's ceiling for the durable writes one event costs).
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

export type ProducerPerfResult = {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  avgLatencyMs: number;
  maxLatencyMs: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  p999Ms: number | null;
  summary: string;
  command: string;
};

/** `300000 records sent, 98231.5 records/sec (46.12 MB/sec), 250.31 ms avg latency, 600.00 ms max latency, 240 ms 50th, ...` */
export function parseProducerPerformance(stdout: string): Omit<ProducerPerfResult, 'command'> {
  const lines = stdout
    .trim()
    .split('\n')
    .filter((l) => /records sent/.test(l));
  const summary = lines[lines.length - 1] ?? '';
  const m =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency(?:, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th)?/.exec(
      summary,
    );
  if (!m) throw new Error(`cannot parse ProducerPerformance output:\n${stdout.slice(-2000)}`);
  const n = (i: number): number | null => (m[i] === undefined ? null : Number(m[i]));
  return {
    records: Number(m[1]),
    recordsPerSec: Number(m[2]),
    mbPerSec: Number(m[3]),
    avgLatencyMs: Number(m[4]),
    maxLatencyMs: Number(m[5]),
    p50Ms: n(6),
    p95Ms: n(7),
    p99Ms: n(8),
    p999Ms: n(9),
    summary,
  };
}

export async function producerPerformance(
  root: string,
  o: {
    topic: string;
    records: number;
    recordSize: number;
    brokers: string;
    extraProps?: string[];
    onSpawn?: (pid: number) => void;
  },
): Promise<ProducerPerfResult> {
  const args = [
    'infra/kafka/perf.sh',
    'producer',
    '--topic',
    o.topic,
    '--num-records',
    String(o.records),
    '--record-size',
    String(o.recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${o.brokers}`,
    'acks=all',
    ...(o.extraProps ?? []),
  ];
  // perf.sh execs java, so the spawned pid is the tool's JVM
  const r = await run('bash', args, { cwd: root, ...(o.onSpawn ? { onSpawn: o.onSpawn } : {}) });
  if (r.code !== 0) throw new Error(`ProducerPerformance failed (${r.code}):\n${r.stderr.slice(-2000)}`);
  return { ...parseProducerPerformance(r.stdout), command: `bash ${args.join(' ')}` };
}

export type PgbenchResult = {
  tps: number;
  latencyAvgMs: number | null;
  transactions: number | null;
  mode: PgbenchMode;
  command: string;
  script: string;
};

/** prepared: PostgreSQL's ceiling (parse/plan once); extended: what node-pg does (unnamed statements, parsed every time). */
export type PgbenchMode = 'prepared' | 'extended';

export function parsePgbench(stdout: string): Omit<PgbenchResult, 'command' | 'script' | 'mode'> {
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  if (!tps) throw new Error(`cannot parse pgbench output:\n${stdout.slice(-2000)}`);
  const lat = /latency average = ([\d.]+) ms/.exec(stdout);
  const tx = /number of transactions actually processed: (\d+)/.exec(stdout);
  return { tps: Number(tps[1]), latencyAvgMs: lat ? Number(lat[1]) : null, transactions: tx ? Number(tx[1]) : null };
}

/**
 * One pgbench "transaction" = the durable writes of one event, as two real transactions:
 * the producer's (its state row + the outbox insert) and the consumer's (the inbox insert with
 * the consumer's exact upsert + its effect row). Same tables, indexes and trigger as the
 * backbone run; synchronous_commit on.
 */
export function pgbenchScript(envelope: string, headers: string, topic: string): string {
  // an E'' literal with ':' written as \x3a: pgbench would take `:name` inside a literal for a variable
  const q = (s: string): string => `E'${s.replace(/\\/g, '\\\\').replace(/'/g, "''").replace(/:/g, '\\x3a')}'`;
  return [
    `\\set seq random(1, 1000000000)`,
    `BEGIN;`,
    `INSERT INTO bench_source (aggregate_id, seq) VALUES ('pgb_' || :client_id, :seq);`,
    `INSERT INTO outbox (event_id, topic, message_key, value, headers) VALUES (gen_random_uuid(), ${q(topic)}, 'pgb_' || :client_id, ${q(envelope)}, ${q(headers)}::jsonb);`,
    `END;`,
    `BEGIN;`,
    `INSERT INTO inbox (consumer_group, event_id, event_type, topic, kafka_partition, kafka_offset, status, attempts) VALUES ('bench-pgbench', gen_random_uuid(), 'ticket.voided', ${q(topic)}, 0, :seq, 'processed', 1) ON CONFLICT (consumer_group, event_id) DO UPDATE SET status = 'processed', attempts = inbox.attempts + EXCLUDED.attempts WHERE inbox.status = 'dead_lettered' RETURNING 1;`,
    `INSERT INTO bench_effect (event_id, aggregate_id, seq, occurred_at) VALUES (gen_random_uuid(), 'pgb_' || :client_id, :seq, now());`,
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
  host?: string;
  user?: string;
}): Promise<PgbenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'admit-bench-'));
  const file = join(dir, 'event.sql');
  writeFileSync(file, o.script);
  const args = [
    '-n',
    '-M',
    o.mode ?? 'prepared',
    '-c',
    String(o.clients),
    '-j',
    String(Math.min(o.clients, 2)),
    '-T',
    String(o.seconds),
    '-f',
    file,
    '-h',
    o.host ?? '127.0.0.1',
    '-U',
    o.user ?? 'postgres',
    o.database,
  ];
  try {
    const r = await run('pgbench', args, o.onSpawn ? { onSpawn: o.onSpawn } : {});
    if (r.code !== 0)
      throw new Error(`pgbench failed (${r.code}):\n${r.stderr.slice(-2000)}\n${r.stdout.slice(-2000)}`);
    return {
      ...parsePgbench(r.stdout),
      mode: o.mode ?? 'prepared',
      command: `pgbench ${args.join(' ').replace(file, '<event.sql>')}`,
      script: o.script,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
