import {
  beijingCompact,
  beijingDate,
  beijingDateTime,
  beijingDayRange,
  isCompactBeijingTime,
  parseBeijingDateTime,
} from './sandbox-time';

describe('GMT+8 calendar', () => {
  it('formats instants in Beijing time', () => {
    const d = new Date('2026-03-10T15:59:59Z');
    expect(beijingDate(d)).toBe('2026-03-10');
    expect(beijingDateTime(d)).toBe('2026-03-10 23:59:59');
    expect(beijingCompact(d)).toBe('20260310235959');
    expect(beijingDate(new Date('2026-03-10T16:00:00Z'))).toBe('2026-03-11');
  });

  it('a GMT+8 day runs from 16:00 UTC to 16:00 UTC', () => {
    expect(beijingDayRange('2026-03-11')).toEqual({
      start: new Date('2026-03-10T16:00:00Z'),
      end: new Date('2026-03-11T16:00:00Z'),
    });
    expect(beijingDayRange('2026-02-30')).toBeUndefined();
    expect(beijingDayRange('2026-3-1')).toBeUndefined();
  });

  it('parses Beijing times', () => {
    expect(parseBeijingDateTime('2026-03-11 00:00:00')).toEqual(new Date('2026-03-10T16:00:00Z'));
    expect(parseBeijingDateTime('2026-03-11 24:00:00')).toBeUndefined();
    expect(isCompactBeijingTime('20260311093000')).toBe(true);
    expect(isCompactBeijingTime('20261311093000')).toBe(false);
  });
});
