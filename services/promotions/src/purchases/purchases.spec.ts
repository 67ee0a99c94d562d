import { AdmitError, parseOr400 } from '@admit/service-kit';
import { productKindsOf } from './purchases.consumer';
import { listPurchasesQuerySchema } from './purchases.dto';

function codes(query: unknown): string[] {
  try {
    parseOr400(listPurchasesQuerySchema, query);
  } catch (err) {
    expect(err).toBeInstanceOf(AdmitError);
    return ((err as AdmitError).details ?? []).map((d) => `${d.field}:${d.code}`).sort();
  }
  throw new Error('expected a validation error');
}

describe('purchases', () => {
  it('lists the distinct product kinds of an order, sorted', () => {
    expect(
      productKindsOf([{ productKind: 'admission' }, { productKind: 'restaurant' }, { productKind: 'admission' }]),
    ).toEqual(['admission', 'restaurant']);
    expect(productKindsOf([{ productKind: 'add_on' }, { productKind: 'admission' }])).toEqual(['add_on', 'admission']);
  });

  it('validates the purchases query', () => {
    expect(parseOr400(listPurchasesQuerySchema, { customerReference: 'cust-42' })).toEqual({
      customerReference: 'cust-42',
      limit: 20,
    });
    expect(parseOr400(listPurchasesQuerySchema, {})).toEqual({ limit: 20 });
    expect(codes({ customerReference: '' })).toEqual(['customerReference:TOO_SMALL']);
    expect(codes({ orderId: 'pay_1' })).toEqual(['orderId:INVALID']);
    expect(codes({ merchantId: 'mch_x' })).toEqual(['merchantId:UNKNOWN_FIELD']);
  });
});
