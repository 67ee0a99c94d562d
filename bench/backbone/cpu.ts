/**
 * Where the CPU went during a measurement window (Linux /proc), in percent of one core: the
 * bench's own processes, the measuring tool (ProducerPerformance's JVM, pgbench), the Kafka
 * broker, PostgreSQL split into the bench database's backends, the server's shared processes
 * (WAL writer, checkpointer, …) and other databases' backends, and the rest of the machine. Other
 * databases and the rest of the machine are other people's work: a result taken while much of it
 * ran is flagged.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** utime + stime (fields 14, 15). */
function procTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return (f[11] ?? 0) + (f[12] ?? 0);
  } catch {
    return 0;
  }
}

type PgTicks = { benchDb: number; shared: number; otherDbs: number };

/**
 * PostgreSQL CPU by kind, live processes only. A backend's title is
 * `postgres: <cluster>: <user> <database> <client> …`; processes without a client address are the
 * server's own (postmaster, WAL writer, checkpointer, autovacuum…). A backend that exits inside a
 * window is not counted here (its CPU lands in "other work"): the bench and the tools keep their
 * connections open for the whole of every window, so those are other people's short sessions.
 */
function postgresTicks(benchDb: string): PgTicks {
  const out: PgTicks = { benchDb: 0, shared: 0, otherDbs: 0 };
  const procs: { pid: number; title: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres' && !name.startsWith('postgres:')) continue;
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      procs.push({ pid: Number(entry), title });
    } catch {
      // process gone
    }
  }
  for (const p of procs) {
    const ticks = procTicks(p.pid);
    const backend = /^postgres: [^:]+: \S+ (\S+) (\d+\.\d+\.\d+\.\d+|\[local\]|[0-9a-f:]+)/.exec(p.title);
    if (!backend) out.shared += ticks;
    else if (backend[1] === benchDb) out.benchDb += ticks;
    else out.otherDbs += ticks;
  }
  return out;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export type CpuPids = { bench: number; benchDb: string; consumer?: number; kafka?: number; tool?: number };

export type CpuSample = {
  at: number;
  bench: number;
  consumer: number;
  tool: number;
  kafka: number;
  pg: PgTicks;
  machine: { busy: number; total: number };
};

export function cpuSample(p: CpuPids): CpuSample {
  return {
    at: Date.now(),
    bench: procTicks(p.bench),
    consumer: p.consumer ? procTicks(p.consumer) : 0,
    tool: p.tool ? procTicks(p.tool) : 0,
    kafka: p.kafka ? procTicks(p.kafka) : 0,
    pg: postgresTicks(p.benchDb),
    machine: machineTicks(),
  };
}

export type CpuReport = {
  seconds: number;
  writersAndRelayProcessPct: number;
  consumerProcessPct: number;
  measuringToolPct: number;
  kafkaBrokerPct: number;
  postgresBenchDbPct: number;
  postgresSharedPct: number;
  machineBusyPctOfAllCores: number;
  /** other people's work: other databases' backends + everything not listed above */
  otherWorkPct: number;
  postgresOtherDbsPct: number;
};

/** Percent of one core per component, and the machine's busy share of all cores. */
export function cpuReport(a: CpuSample, b: CpuSample, cores: number): CpuReport {
  const sec = (b.at - a.at) / 1000;
  const pct = (d: number): number => Math.round((Math.max(0, d) / TICKS_PER_SEC / sec) * 1000) / 10;
  const r = {
    writersAndRelayProcessPct: pct(b.bench - a.bench),
    consumerProcessPct: pct(b.consumer - a.consumer),
    measuringToolPct: pct(b.tool - a.tool),
    kafkaBrokerPct: pct(b.kafka - a.kafka),
    postgresBenchDbPct: pct(b.pg.benchDb - a.pg.benchDb),
    postgresSharedPct: pct(b.pg.shared - a.pg.shared),
    postgresOtherDbsPct: pct(b.pg.otherDbs - a.pg.otherDbs),
  };
  const machineBusy =
    Math.round(((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * 1000) / 10;
  const ours =
    r.writersAndRelayProcessPct +
    r.consumerProcessPct +
    r.measuringToolPct +
    r.kafkaBrokerPct +
    r.postgresBenchDbPct +
    r.postgresSharedPct;
  return {
    seconds: Math.round(sec * 10) / 10,
    ...r,
    machineBusyPctOfAllCores: machineBusy,
    otherWorkPct: Math.max(0, Math.round((machineBusy * cores - ours) * 10) / 10),
  };
}

/**
 * Samples every 250 ms while `work` runs and reports the window from the first sample taken at
 * least `skipMs` after the start (tool start-up) to the last one before it finished.
 */
export async function cpuDuring<T>(
  pids: () => CpuPids,
  cores: number,
  work: Promise<T>,
  skipMs = 1500,
): Promise<{ value: T; cpu: CpuReport | null }> {
  const started = Date.now();
  let first: CpuSample | null = null;
  let last: CpuSample | null = null;
  let done = false;
  const finished = work.finally(() => {
    done = true;
  });
  while (!done) {
    await Promise.race([finished.catch(() => undefined), new Promise((r) => setTimeout(r, 250))]);
    if (done) break;
    const s = cpuSample(pids());
    if (Date.now() - started >= skipMs) {
      first ??= s;
      last = s;
    }
  }
  const value = await finished;
  return { value, cpu: first && last && last.at - first.at >= 1000 ? cpuReport(first, last, cores) : null };
}

/** The pid of the broker started by infra/kafka/start.sh for this data dir, if it is running. */
export function kafkaBrokerPid(dataDir: string): number | undefined {
  const file = `${dataDir}/kafka.pid`;
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && existsSync(`/proc/${pid}`) ? pid : undefined;
}
