import { formatCompactGmt8, formatDashedGmt8, parseGmt8 } from './mapi-time';

describe('mapi GMT+8 times', () => {
  it('formats in Beijing time whatever the host time zone', () => {
    const d = new Date('2026-12-31T16:30:05Z');
    expect(formatCompactGmt8(d)).toBe('20270101003005');
    expect(formatDashedGmt8(d)).toBe('2027-01-01 00:30:05');
  });

  it('parses both wallet formats as GMT+8', () => {
    expect(parseGmt8('20270101003005')).toEqual(new Date('2026-12-31T16:30:05Z'));
    expect(parseGmt8('2027-01-01 00:30:05')).toEqual(new Date('2026-12-31T16:30:05Z'));
  });

  it.each(['20260230120000', '2026-13-01 00:00:00', '20260101246000', '2026010112000', 'yesterday', undefined])(
    'rejects %s',
    (text) => {
      expect(parseGmt8(text)).toBeUndefined();
    },
  );
});
