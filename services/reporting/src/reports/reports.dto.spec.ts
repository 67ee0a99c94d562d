import { AdmitError, parseOr400 } from '@admit/service-kit';
import { dailyReportQuerySchema, occupancyQuerySchema, visitorFlowQuerySchema } from './reports.dto';

const MERCHANT = 'mch_0abcdefgh0123456789abcdef';
const ATTRACTION = 'att_0abcdefgh0123456789abcdef';

function rejection(schema: Parameters<typeof parseOr400>[0], query: unknown) {
  try {
    parseOr400(schema, query);
  } catch (err) {
    expect(err).toBeInstanceOf(AdmitError);
    const e = err as AdmitError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('VALIDATION_FAILED');
    return (e.details ?? []).map((d) => `${d.field}:${d.code}`).sort();
  }
  throw new Error('expected a validation error');
}

describe('report query validation', () => {
  it('accepts a daily query with or without merchantId', () => {
    expect(parseOr400(dailyReportQuerySchema, { date: '2026-05-01' })).toEqual({ date: '2026-05-01' });
    expect(parseOr400(dailyReportQuerySchema, { date: '2028-02-29', merchantId: MERCHANT })).toEqual({
      date: '2028-02-29',
      merchantId: MERCHANT,
    });
  });

  it('rejects a missing or impossible date, a bad merchant id and unknown fields, one detail each', () => {
    expect(rejection(dailyReportQuerySchema, {})).toEqual(['date:REQUIRED']);
    expect(rejection(dailyReportQuerySchema, { date: '2026-02-30' })).toEqual(['date:INVALID_FORMAT']);
    expect(rejection(dailyReportQuerySchema, { date: '2026-5-1' })).toEqual(['date:INVALID_FORMAT']);
    // A repeated parameter arrives as an array: rejected on the field (the kit names the code).
    expect(
      rejection(dailyReportQuerySchema, { date: ['2026-05-01', '2026-05-02'] }).map((d) => d.split(':')[0]),
    ).toEqual(['date']);
    expect(rejection(dailyReportQuerySchema, { date: '2026-05-01', merchantId: 'att_x' })).toEqual([
      'merchantId:INVALID',
    ]);
    expect(rejection(dailyReportQuerySchema, { date: '2026-05-01', currency: 'CNY', x: '1' })).toEqual([
      'currency:UNKNOWN_FIELD',
      'x:UNKNOWN_FIELD',
    ]);
  });

  it('validates occupancy and visitor-flow queries', () => {
    expect(parseOr400(occupancyQuerySchema, { attractionId: ATTRACTION })).toEqual({ attractionId: ATTRACTION });
    expect(rejection(occupancyQuerySchema, {})).toEqual(['attractionId:REQUIRED']);
    expect(rejection(occupancyQuerySchema, { attractionId: MERCHANT })).toEqual(['attractionId:INVALID']);
    expect(parseOr400(visitorFlowQuerySchema, { attractionId: ATTRACTION, date: '2026-05-01' })).toEqual({
      attractionId: ATTRACTION,
      date: '2026-05-01',
      interval: '15m',
    });
    expect(
      parseOr400(visitorFlowQuerySchema, { attractionId: ATTRACTION, date: '2026-05-01', interval: '1h' }).interval,
    ).toBe('1h');
    expect(rejection(visitorFlowQuerySchema, { attractionId: ATTRACTION, date: '2026-05-01', interval: '7m' })).toEqual(
      ['interval:INVALID_VALUE'],
    );
    expect(rejection(visitorFlowQuerySchema, { attractionId: ATTRACTION })).toEqual(['date:REQUIRED']);
  });
});
