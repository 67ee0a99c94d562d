/**
 * What the machine did during a measurement (Linux /proc): the payment process's memory, and the
 * CPU of each component in percent of one core: the payment service, the wallet sandbox, the
 * bench's own load generator, PostgreSQL (the bench's databases, the server's shared processes,
 * other databases' backends), Redis, the Kafka broker, the measuring tool (pgbench,
 * redis-benchmark), and the rest of the machine (other people's work).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { run } from './tools';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** utime + stime; with `children`, also the reaped children's (cutime + cstime). */
export function procTicks(pid: number | undefined, children = false): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    return (f[11] ?? 0) + (f[12] ?? 0) + (children ? (f[13] ?? 0) + (f[14] ?? 0) : 0);
  } catch {
    return 0;
  }
}

/** VmRSS and VmHWM (peak) of a process, in kB; null when it is gone. */
export function memoryKb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    return rss ? { rss: Number(rss[1]), hwm: Number(hwm?.[1] ?? rss[1]) } : null;
  } catch {
    return null;
  }
}

/** The pid listening on a TCP port on this machine (`ss -ltnp`), if it is ours to see. */
export async function pidListeningOn(port: number): Promise<number | undefined> {
  const r = await run('ss', ['-ltnpH', `sport = :${port}`]);
  const m = /pid=(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

/** Fallback: a process whose command line contains `entry` and whose environment has `envLine`. */
export function pidByCommand(entry: string, envLine: string): number | undefined {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(entry)) continue;
      if (readFileSync(`/proc/${e}/environ`, 'utf8').split('\0').includes(envLine)) return Number(e);
    } catch {
      // gone, or not ours
    }
  }
  return undefined;
}

export function processByName(name: string): number | undefined {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === name) return Number(e);
    } catch {
      // gone
    }
  }
  return undefined;
}

export function kafkaPid(dataDir: string): number | undefined {
  const file = `${dataDir}/kafka.pid`;
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && existsSync(`/proc/${pid}`) ? pid : undefined;
}

type PgTicks = {
  /** the bench's backends, pid by pid: which database (without the prefix) and their ticks */
  perPid: Record<number, { db: string; ticks: number }>;
  shared: number;
  otherDbs: number;
  exited: number;
};

/**
 * PostgreSQL CPU: backends of databases whose name starts with `dbPrefix` (ours), the server's
 * own processes (shared: WAL writer, checkpointer…), other databases' backends, and backends that
 * exited during the window (the postmaster's reaped children: on a shared machine, mostly other
 * people's short sessions; the bench keeps its connections open).
 */
function postgresTicks(dbPrefix: string): PgTicks {
  const out: PgTicks = { perPid: {}, shared: 0, otherDbs: 0, exited: 0 };
  const procs: { pid: number; ppid: number; title: string }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres' && !name.startsWith('postgres:')) continue;
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      procs.push({ pid: Number(e), ppid, title: readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // gone
    }
  }
  const pids = new Set(procs.map((p) => p.pid));
  for (const p of procs) {
    const postmaster = !pids.has(p.ppid);
    const ticks = procTicks(p.pid);
    if (postmaster) out.exited += procTicks(p.pid, true) - ticks;
    const backend = /^postgres: [^:]+: \S+ (\S+) (\d+\.\d+\.\d+\.\d+|\[local\]|[0-9a-f:]+)/.exec(p.title);
    if (postmaster || !backend) out.shared += ticks;
    else if (backend[1]?.startsWith(dbPrefix)) out.perPid[p.pid] = { db: backend[1].slice(dbPrefix.length), ticks };
    else out.otherDbs += ticks;
  }
  return out;
}

function machineTicks(): { busy: number; total: number } {
  const v = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

export type Pids = {
  bench: number;
  payment?: number | undefined;
  sandbox?: number | undefined;
  redis?: number | undefined;
  kafka?: number | undefined;
  tool?: number | undefined;
};

export type CpuSample = {
  at: number;
  ticks: Record<keyof Pids, number>;
  pg: PgTicks;
  machine: { busy: number; total: number };
};

export function cpuSample(p: Pids, dbPrefix: string): CpuSample {
  return {
    at: Date.now(),
    ticks: {
      bench: procTicks(p.bench),
      payment: procTicks(p.payment),
      sandbox: procTicks(p.sandbox),
      redis: procTicks(p.redis),
      kafka: procTicks(p.kafka),
      tool: procTicks(p.tool, true),
    },
    pg: postgresTicks(dbPrefix),
    machine: machineTicks(),
  };
}

export type CpuReport = {
  seconds: number;
  /** percent of one core */
  paymentServicePct: number;
  walletSandboxPct: number;
  loadGeneratorPct: number;
  measuringToolPct: number;
  postgresBenchDbsPct: number;
  /** the bench's databases one by one (name without the prefix: payment, wallet, …) */
  postgresByDbPct: Record<string, number>;
  postgresSharedPct: number;
  /** other databases' backends and exited backends (counted in otherWorkPct) */
  postgresOtherPct: number;
  redisPct: number;
  kafkaBrokerPct: number;
  machineBusyPctOfAllCores: number;
  /** other people's work: other databases' backends + everything not listed above */
  otherWorkPct: number;
};

export function cpuReport(a: CpuSample, b: CpuSample, cores: number): CpuReport {
  return cpuReportOver([a, b], cores);
}

/**
 * CPU between the first and the last of `samples`. The bench's PostgreSQL backends are followed
 * pid by pid through every sample, so a backend that exits during the window (a pool connection
 * closed when idle) keeps the CPU it used up to the last sample it was seen in, instead of
 * vanishing into the postmaster's reaped-children count.
 */
export function cpuReportOver(samples: CpuSample[], cores: number): CpuReport {
  const a = samples[0] as CpuSample;
  const b = samples[samples.length - 1] as CpuSample;
  const sec = (b.at - a.at) / 1000;
  const pct = (d: number): number => Math.round((Math.max(0, d) / TICKS_PER_SEC / sec) * 1000) / 10;
  const d = (k: keyof Pids): number => pct(b.ticks[k] - a.ticks[k]);
  const last = new Map<number, { db: string; ticks: number }>();
  for (const s of samples) for (const [pid, v] of Object.entries(s.pg.perPid)) last.set(Number(pid), v);
  const byDbTicks: Record<string, number> = {};
  let oursTicks = 0;
  let oursExited = 0;
  for (const [pid, v] of last) {
    const used = Math.max(0, v.ticks - (a.pg.perPid[pid]?.ticks ?? 0));
    byDbTicks[v.db] = (byDbTicks[v.db] ?? 0) + used;
    oursTicks += used;
    if (!b.pg.perPid[pid]) oursExited += used;
  }
  const r = {
    paymentServicePct: d('payment'),
    walletSandboxPct: d('sandbox'),
    loadGeneratorPct: d('bench'),
    measuringToolPct: d('tool'),
    postgresBenchDbsPct: pct(oursTicks),
    postgresSharedPct: pct(b.pg.shared - a.pg.shared),
    redisPct: d('redis'),
    kafkaBrokerPct: d('kafka'),
  };
  const byDb = Object.fromEntries(Object.entries(byDbTicks).map(([k, t]) => [k, pct(t)]));
  const pgOther = pct(b.pg.otherDbs - a.pg.otherDbs + Math.max(0, b.pg.exited - a.pg.exited - oursExited));
  const busy =
    Math.round(((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * 1000) / 10;
  const ours = Object.values(r).reduce((s, x) => s + x, 0);
  return {
    seconds: Math.round(sec * 10) / 10,
    ...r,
    postgresByDbPct: byDb,
    postgresOtherPct: pgOther,
    machineBusyPctOfAllCores: busy,
    otherWorkPct: Math.max(0, Math.round((busy * cores - ours) * 10) / 10),
  };
}

/** Samples the payment process's VmRSS every `everyMs` until stopped. */
export class RssSampler {
  private readonly series: [number, number][] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 250,
  ) {}

  start(): void {
    const tick = (): void => {
      const m = memoryKb(this.pid);
      if (m) this.series.push([Date.now(), m.rss]);
    };
    tick();
    this.timer = setInterval(tick, this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** max and mean VmRSS (MB) between two times. */
  between(from: number, to: number): { samples: number; maxMb: number; meanMb: number } {
    const xs = this.series.filter(([t]) => t >= from && t <= to).map(([, kb]) => kb / 1024);
    const r = (x: number): number => Math.round(x * 10) / 10;
    return {
      samples: xs.length,
      maxMb: r(xs.reduce((a, b) => Math.max(a, b), 0)),
      meanMb: r(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)),
    };
  }
}
