import { businessDate, isValidTimeZone, localDayRange, nextDate, offsetMs, startOfLocalDay } from './zoned-time';

describe('zoned time', () => {
  it('knows IANA zones and rejects the rest', () => {
    expect(isValidTimeZone('Asia/Shanghai')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
    expect(isValidTimeZone('')).toBe(false);
  });

  describe('businessDate', () => {
    it('puts an instant on the calendar date of the zone', () => {
      // 16:30 UTC is 00:30 the next day in Shanghai (UTC+8) and still the same day in New York.
      expect(businessDate('2026-05-01T16:30:00Z', 'Asia/Shanghai')).toBe('2026-05-02');
      expect(businessDate('2026-05-01T15:59:59Z', 'Asia/Shanghai')).toBe('2026-05-01');
      expect(businessDate('2026-05-01T16:00:00Z', 'Asia/Shanghai')).toBe('2026-05-02');
      expect(businessDate('2026-05-02T03:59:59Z', 'America/New_York')).toBe('2026-05-01');
      expect(businessDate(new Date('2026-05-02T04:00:00Z'), 'America/New_York')).toBe('2026-05-02');
    });

    it('handles half-hour and 45-minute offsets and the date line', () => {
      expect(businessDate('2026-01-01T18:29:00Z', 'Asia/Kolkata')).toBe('2026-01-01'); // 23:59 IST
      expect(businessDate('2026-01-01T18:30:00Z', 'Asia/Kolkata')).toBe('2026-01-02');
      expect(businessDate('2026-01-01T18:15:00Z', 'Asia/Kathmandu')).toBe('2026-01-02'); // UTC+5:45
      expect(businessDate('2026-01-01T10:00:00Z', 'Pacific/Kiritimati')).toBe('2026-01-02'); // UTC+14
    });

    it('rejects a non-instant', () => {
      expect(() => businessDate('yesterday', 'UTC')).toThrow(RangeError);
    });
  });

  it('computes offsets', () => {
    expect(offsetMs(Date.parse('2026-05-01T00:00:00Z'), 'Asia/Shanghai')).toBe(8 * 3_600_000);
    expect(offsetMs(Date.parse('2026-01-15T00:00:00Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(offsetMs(Date.parse('2026-07-15T00:00:00Z'), 'Europe/Berlin')).toBe(2 * 3_600_000);
  });

  it('steps calendar dates', () => {
    expect(nextDate('2026-02-28')).toBe('2026-03-01');
    expect(nextDate('2028-02-28')).toBe('2028-02-29');
    expect(nextDate('2026-12-31')).toBe('2027-01-01');
    expect(() => nextDate('2026-02-30')).toThrow(RangeError);
  });

  describe('local day range', () => {
    it('is 24 hours starting at local midnight on an ordinary day', () => {
      const { start, end } = localDayRange('2026-05-01', 'Asia/Shanghai');
      expect(start.toISOString()).toBe('2026-04-30T16:00:00.000Z');
      expect(end.toISOString()).toBe('2026-05-01T16:00:00.000Z');
    });

    it('is 23 hours on the spring-forward day and 25 on the fall-back day', () => {
      const spring = localDayRange('2026-03-29', 'Europe/Berlin');
      expect(spring.start.toISOString()).toBe('2026-03-28T23:00:00.000Z');
      expect(spring.end.getTime() - spring.start.getTime()).toBe(23 * 3_600_000);
      const fall = localDayRange('2026-10-25', 'Europe/Berlin');
      expect(fall.start.toISOString()).toBe('2026-10-24T22:00:00.000Z');
      expect(fall.end.getTime() - fall.start.getTime()).toBe(25 * 3_600_000);
      const ny = localDayRange('2026-03-08', 'America/New_York');
      expect(ny.start.toISOString()).toBe('2026-03-08T05:00:00.000Z');
      expect(ny.end.toISOString()).toBe('2026-03-09T04:00:00.000Z');
    });

    it('starts when the clocks jump if midnight itself does not exist', () => {
      // America/Havana springs forward at 00:00 → 01:00 (2026-03-08); the day starts at 05:00Z.
      const start = startOfLocalDay('2026-03-08', 'America/Havana');
      expect(businessDate(start, 'America/Havana')).toBe('2026-03-08');
      expect(businessDate(new Date(start.getTime() - 1), 'America/Havana')).toBe('2026-03-07');
      expect(start.toISOString()).toBe('2026-03-08T05:00:00.000Z');
    });

    it('is consistent with businessDate at both ends for many zones', () => {
      for (const tz of [
        'UTC',
        'Asia/Tokyo',
        'Australia/Lord_Howe',
        'America/Sao_Paulo',
        'Pacific/Chatham',
        'Europe/London',
      ]) {
        for (const date of ['2026-01-01', '2026-04-05', '2026-10-04', '2026-11-01']) {
          const { start, end } = localDayRange(date, tz);
          expect(businessDate(start, tz)).toBe(date);
          expect(businessDate(new Date(start.getTime() - 1), tz)).not.toBe(date);
          expect(businessDate(new Date(end.getTime() - 1), tz)).toBe(date);
          expect(businessDate(end, tz)).toBe(nextDate(date));
        }
      }
    });
  });
});
