/**
 * Summary of a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function, and self
 * time per origin (our code, each npm package, Node's own modules, V8 internals: GC, program,
 * idle), plus inclusive time of the top frames. Time = sample count × sampling interval.
 */
import { readFileSync } from 'node:fs';

type CallFrame = { functionName: string; url: string; lineNumber: number; columnNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };

export type Hotspot = { function: string; location: string; origin: string; selfPct: number; selfMs: number };
export type ProfileSummary = {
  file: string;
  profiledSec: number;
  samples: number;
  /** share of the profiled wall time the process was not idle */
  busyPct: number;
  byOrigin: { origin: string; selfPct: number }[];
  topSelf: Hotspot[];
  topInclusive: { function: string; location: string; inclusivePct: number }[];
  /** native frames (socket writes, hashing, JSON…) by the nearest caller outside Node's own modules */
  nativeByCaller: { caller: string; origin: string; selfPct: number }[];
};

/** Where a frame's code comes from: `ours:<path>`, `npm:<package>`, `node:<module>`, or a V8 category. */
export function originOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'v8:gc';
    if (functionName === '(idle)') return 'v8:idle';
    if (functionName === '(program)') return 'v8:program';
    return 'v8:native';
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) {
    const parts = url.slice(dist + 6).split('/');
    return `ours:${parts.slice(0, 2).join('/')}`;
  }
  return `other:${url}`;
}

export function summariseProfile(file: string, top = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  // the profiler's own stop-and-write (the bench's preload) is not the service's work
  const isProfiler = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
      if (byId.get(cur)?.callFrame.url.includes('cpu-profile-preload')) return true;
    }
    return false;
  };
  const selfUs = new Map<number, number>();
  let profilerUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const id = p.samples[i] as number;
    const dt = p.timeDeltas[i] ?? 0;
    if (isProfiler(id)) profilerUs += dt;
    else selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const totalUs = p.endTime - p.startTime - profilerUs;
  const label = (f: CallFrame): string => f.functionName || '(anonymous)';
  const where = (f: CallFrame): string =>
    f.url ? `${f.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  const idle = [...byId.values()]
    .filter((n) => n.callFrame.functionName === '(idle)')
    .reduce((s, n) => s + (selfUs.get(n.id) ?? 0), 0);
  const busyUs = Math.max(1, totalUs - idle);
  const pct = (us: number): number => Math.round((us / busyUs) * 1000) / 10;

  const fn = new Map<string, { f: CallFrame; us: number }>();
  const origin = new Map<string, number>();
  for (const n of p.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    if (n.callFrame.functionName === '(idle)') continue;
    const key = `${label(n.callFrame)}@${where(n.callFrame)}`;
    const e = fn.get(key) ?? { f: n.callFrame, us: 0 };
    e.us += us;
    fn.set(key, e);
    const o = originOf(n.callFrame.url, n.callFrame.functionName);
    origin.set(o, (origin.get(o) ?? 0) + us);
  }

  // inclusive time per function (a function counted once per stack, however deep it recurses)
  const parent = parentOf;
  const inclusive = new Map<string, { f: CallFrame; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (!f || f.functionName === '(root)') continue;
      const key = `${label(f)}@${where(f)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = inclusive.get(key) ?? { f, us: 0 };
      e.us += us;
      inclusive.set(key, e);
    }
  }

  // native time (no script url: bindings such as writev, Hash, JSON) charged to the nearest
  // caller outside Node's own modules, so a socket write shows up as pg's, ioredis's or http's
  const V8_CATEGORIES = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);
  const nativeCallers = new Map<string, { origin: string; us: number }>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.url || V8_CATEGORIES.has(node.callFrame.functionName)) continue;
    let caller: CallFrame | undefined;
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)?.callFrame;
      if (f?.url && !f.url.startsWith('node:')) {
        caller = f;
        break;
      }
    }
    const key = caller ? `${label(caller)}@${where(caller)}` : '(no JS caller)';
    const e = nativeCallers.get(key) ?? {
      origin: caller ? originOf(caller.url, caller.functionName) : 'v8:native',
      us: 0,
    };
    e.us += us;
    nativeCallers.set(key, e);
  }

  return {
    file,
    profiledSec: Math.round(totalUs / 1e5) / 10,
    samples: p.samples.length,
    busyPct: Math.round((busyUs / Math.max(1, totalUs)) * 1000) / 10,
    byOrigin: [...origin.entries()]
      .map(([o, us]) => ({ origin: o, selfPct: pct(us) }))
      .filter((x) => x.selfPct >= 0.3)
      .sort((a, b) => b.selfPct - a.selfPct),
    topSelf: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map(({ f, us }) => ({
        function: label(f),
        location: where(f),
        origin: originOf(f.url, f.functionName),
        selfPct: pct(us),
        selfMs: Math.round(us / 1000),
      })),
    topInclusive: [...inclusive.values()]
      .filter(({ f }) => f.url && !f.url.startsWith('node:'))
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map(({ f, us }) => ({ function: label(f), location: where(f), inclusivePct: pct(us) })),
    nativeByCaller: [...nativeCallers.entries()]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, 15)
      .map(([caller, e]) => ({ caller, origin: e.origin, selfPct: pct(e.us) })),
  };
}
