/**
 * Where the CPU went during a measurement window (Linux /proc), in percent of one core: the
 * bench's own processes, the Kafka broker, all PostgreSQL processes (every database: other work
 * on the same server counts here too), and the rest of the machine, so a result taken while
 * other work ran says so.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

/** utime + stime (fields 14, 15), and with `children` also cutime + cstime of reaped children (16, 17). */
function procTicks(pid: number, children = false): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
    return (f[11] ?? 0) + (f[12] ?? 0) + (children ? (f[13] ?? 0) + (f[14] ?? 0) : 0);
  } catch {
    return 0;
  }
}

/**
 * All PostgreSQL CPU: the live server processes plus what the postmaster has reaped from exited
 * backends (its cutime/cstime), so short-lived connections are counted too.
 */
function postgresTicks(): number {
  const procs: { pid: number; ppid: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== 'postgres' && !name.startsWith('postgres:')) continue;
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      procs.push({ pid: Number(entry), ppid });
    } catch {
      // process gone
    }
  }
  const pids = new Set(procs.map((p) => p.pid));
  let total = 0;
  for (const p of procs) total += procTicks(p.pid, !pids.has(p.ppid)); // the postmaster: with its reaped children
  return total;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export type CpuPids = { bench: number; consumer?: number; kafka?: number };

export type CpuSample = { at: number; bench: number; consumer: number; kafka: number; postgres: number; machine: { busy: number; total: number } };

export function cpuSample(p: CpuPids): CpuSample {
  return {
    at: Date.now(),
    bench: procTicks(p.bench),
    consumer: p.consumer ? procTicks(p.consumer) : 0,
    kafka: p.kafka ? procTicks(p.kafka) : 0,
    postgres: postgresTicks(),
    machine: machineTicks(),
  };
}

/** Percent of one core per component, and the machine's busy share of all cores. */
export function cpuReport(a: CpuSample, b: CpuSample, cores: number): Record<string, number> {
  const sec = (b.at - a.at) / 1000;
  const pct = (d: number): number => Math.round((d / TICKS_PER_SEC / sec) * 1000) / 10;
  const bench = pct(b.bench - a.bench);
  const consumer = pct(b.consumer - a.consumer);
  const kafka = pct(b.kafka - a.kafka);
  const postgres = pct(b.postgres - a.postgres);
  const machineBusy = Math.round(((b.machine.busy - a.machine.busy) / Math.max(1, b.machine.total - a.machine.total)) * 1000) / 10;
  const machineCorePct = Math.round(machineBusy * cores * 10) / 10;
  return {
    writersAndRelayProcessPct: bench,
    consumerProcessPct: consumer,
    kafkaBrokerPct: kafka,
    postgresAllPct: postgres,
    machineBusyPctOfAllCores: machineBusy,
    // everything else: the measuring tool itself (ProducerPerformance JVM, pgbench) and other work on the machine
    restOfMachinePct: Math.round((machineCorePct - bench - consumer - kafka - postgres) * 10) / 10,
  };
}

/** The pid of the broker started by infra/kafka/start.sh for this data dir, if it is running. */
export function kafkaBrokerPid(dataDir: string): number | undefined {
  const file = `${dataDir}/kafka.pid`;
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && existsSync(`/proc/${pid}`) ? pid : undefined;
}
