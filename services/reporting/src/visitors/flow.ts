/** Bucket widths of the visitor-flow report (`?interval=`). */
export const FLOW_INTERVALS = { '15m': 15, '30m': 30, '1h': 60 } as const;
export type FlowInterval = keyof typeof FLOW_INTERVALS;

/** Admitted scans of one gate and direction in one bucket (an aggregate from the scans table). */
export type FlowCount = { bucket: number; gateId: string; direction: 'in' | 'out'; count: number };

export type FlowBucket = { start: string; admissions: number; exits: number; byGate: Record<string, number> };
export type FlowPeak = { start: string; admissions: number };

/** Which bucket an instant falls in, counting from `start` in steps of `intervalMinutes`. */
export function bucketIndex(at: Date, start: Date, intervalMinutes: number): number {
  return Math.floor((at.getTime() - start.getTime()) / (intervalMinutes * 60_000));
}

/**
 * Every bucket of the day `[start, end)` (96 at 15 minutes; 92 or 100 on a DST day), with
 * admissions (admitted `in` scans), exits (admitted `out` scans) and admissions per gate, and the
 * peak: the first bucket with the most admissions, or null when nobody was admitted.
 */
export function buildFlow(
  start: Date,
  end: Date,
  intervalMinutes: number,
  counts: readonly FlowCount[],
): { buckets: FlowBucket[]; peak: FlowPeak | null } {
  const stepMs = intervalMinutes * 60_000;
  const n = Math.max(0, Math.ceil((end.getTime() - start.getTime()) / stepMs));
  const acc = Array.from({ length: n }, (_, i) => ({
    start: new Date(start.getTime() + i * stepMs).toISOString().replace('.000Z', 'Z'),
    admissions: 0,
    exits: 0,
    byGate: new Map<string, number>(),
  }));
  for (const c of counts) {
    const b = acc[c.bucket];
    if (!b || c.count <= 0) continue;
    if (c.direction === 'in') {
      b.admissions += c.count;
      b.byGate.set(c.gateId, (b.byGate.get(c.gateId) ?? 0) + c.count);
    } else {
      b.exits += c.count;
    }
  }
  let peak: FlowPeak | null = null;
  const buckets = acc.map((b) => {
    if (b.admissions > 0 && (peak === null || b.admissions > peak.admissions))
      peak = { start: b.start, admissions: b.admissions };
    // fromEntries defines own properties, so a gate named "__proto__" stays an ordinary key.
    const byGate = Object.fromEntries([...b.byGate.entries()].sort(([a], [z]) => (a < z ? -1 : a > z ? 1 : 0)));
    return { start: b.start, admissions: b.admissions, exits: b.exits, byGate };
  });
  return { buckets, peak };
}
