import { localDayRange } from '../time/zoned-time';
import { bucketIndex, buildFlow, type FlowCount } from './flow';

describe('visitor flow buckets', () => {
  const { start, end } = localDayRange('2026-05-01', 'Asia/Shanghai'); // 2026-04-30T16:00Z .. 2026-05-01T16:00Z

  it('indexes instants into 15-minute buckets from local midnight', () => {
    expect(bucketIndex(new Date('2026-04-30T16:00:00Z'), start, 15)).toBe(0);
    expect(bucketIndex(new Date('2026-04-30T16:14:59.999Z'), start, 15)).toBe(0);
    expect(bucketIndex(new Date('2026-04-30T16:15:00Z'), start, 15)).toBe(1);
    expect(bucketIndex(new Date('2026-05-01T01:30:00Z'), start, 15)).toBe(38); // 09:30 local
    expect(bucketIndex(new Date('2026-05-01T15:59:59Z'), start, 15)).toBe(95);
    expect(bucketIndex(new Date('2026-05-01T01:30:00Z'), start, 60)).toBe(9);
  });

  it('returns every bucket of the day, counts admissions, exits and admissions per gate, and the peak', () => {
    const counts: FlowCount[] = [
      { bucket: 36, gateId: 'gate-a', direction: 'in', count: 3 },
      { bucket: 36, gateId: 'gate-b', direction: 'in', count: 2 },
      { bucket: 37, gateId: 'gate-a', direction: 'in', count: 5 },
      { bucket: 37, gateId: 'gate-b', direction: 'in', count: 1 },
      { bucket: 37, gateId: 'gate-a', direction: 'out', count: 2 },
      { bucket: 40, gateId: 'gate-b', direction: 'in', count: 6 },
    ];
    const { buckets, peak } = buildFlow(start, end, 15, counts);
    expect(buckets).toHaveLength(96);
    expect(buckets[0]).toEqual({ start: '2026-04-30T16:00:00Z', admissions: 0, exits: 0, byGate: {} });
    expect(buckets[36]).toEqual({
      start: '2026-05-01T01:00:00Z',
      admissions: 5,
      exits: 0,
      byGate: { 'gate-a': 3, 'gate-b': 2 },
    });
    expect(buckets[37]).toEqual({
      start: '2026-05-01T01:15:00Z',
      admissions: 6,
      exits: 2,
      byGate: { 'gate-a': 5, 'gate-b': 1 },
    });
    // Ties go to the earlier bucket: 37 and 40 both have 6.
    expect(peak).toEqual({ start: '2026-05-01T01:15:00Z', admissions: 6 });
    expect(buckets.reduce((s, b) => s + b.admissions, 0)).toBe(17);
  });

  it('has no peak when nobody was admitted, and ignores counts outside the day', () => {
    const { buckets, peak } = buildFlow(start, end, 15, [
      { bucket: 96, gateId: 'g', direction: 'in', count: 4 },
      { bucket: -1, gateId: 'g', direction: 'in', count: 4 },
      { bucket: 3, gateId: 'g', direction: 'out', count: 1 },
    ]);
    expect(peak).toBeNull();
    expect(buckets[3]?.exits).toBe(1);
    expect(buckets.reduce((s, b) => s + b.admissions, 0)).toBe(0);
  });

  it('follows DST: 92 quarter hours on the spring-forward day, 100 on the fall-back day', () => {
    const spring = localDayRange('2026-03-29', 'Europe/Berlin');
    expect(buildFlow(spring.start, spring.end, 15, []).buckets).toHaveLength(92);
    const fall = localDayRange('2026-10-25', 'Europe/Berlin');
    expect(buildFlow(fall.start, fall.end, 15, []).buckets).toHaveLength(100);
    expect(buildFlow(fall.start, fall.end, 60, []).buckets).toHaveLength(25);
  });

  it('keeps odd gate ids as plain keys', () => {
    const { buckets } = buildFlow(start, end, 15, [{ bucket: 0, gateId: '__proto__', direction: 'in', count: 1 }]);
    expect(Object.keys(buckets[0]?.byGate ?? {})).toEqual(['__proto__']);
    expect(JSON.parse(JSON.stringify(buckets[0]))).toEqual({
      start: '2026-04-30T16:00:00Z',
      admissions: 1,
      exits: 0,
      byGate: JSON.parse('{"__proto__":1}'),
    });
  });
});
