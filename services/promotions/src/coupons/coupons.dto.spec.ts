import { AdmitError, parseOr400 } from '@admit/service-kit';
import { listCouponsQuerySchema } from './coupons.dto';

function codes(query: unknown): string[] {
  try {
    parseOr400(listCouponsQuerySchema, query);
  } catch (err) {
    expect(err).toBeInstanceOf(AdmitError);
    return ((err as AdmitError).details ?? []).map((d) => `${d.field}:${d.code}`).sort();
  }
  throw new Error('expected a validation error');
}

describe('GET /v1/coupons query', () => {
  it('accepts a visitor, a status and paging', () => {
    expect(parseOr400(listCouponsQuerySchema, { customerReference: 'cust-42', status: 'issued' })).toEqual({
      customerReference: 'cust-42',
      status: 'issued',
      limit: 20,
    });
    expect(parseOr400(listCouponsQuerySchema, {})).toEqual({ limit: 20 });
  });

  it('rejects bad values and unknown fields', () => {
    expect(codes({ status: 'used' })).toEqual(['status:INVALID_VALUE']);
    expect(codes({ customerReference: 'x'.repeat(256) })).toEqual(['customerReference:TOO_BIG']);
    expect(codes({ campaignId: 'cpn_0abcdefgh0123456789abcdef' })).toEqual(['campaignId:INVALID']);
    expect(codes({ merchantId: 'mch_0abcdefgh0123456789abcdef' })).toEqual(['merchantId:UNKNOWN_FIELD']);
  });
});
