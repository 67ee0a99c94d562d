import { AdmitError, parseOr400 } from '@admit/service-kit';
import { listOffersQuerySchema } from './offers.dto';

function fields(query: unknown): string[] {
  try {
    parseOr400(listOffersQuerySchema, query);
  } catch (err) {
    expect(err).toBeInstanceOf(AdmitError);
    expect((err as AdmitError).code).toBe('VALIDATION_FAILED');
    return ((err as AdmitError).details ?? []).map((d) => `${d.field}:${d.code}`).sort();
  }
  throw new Error('expected a validation error');
}

describe('GET /v1/offers query', () => {
  it('takes a city of 1 to 100 characters, trimmed, with default paging', () => {
    expect(parseOr400(listOffersQuerySchema, { city: ' Hangzhou ' })).toEqual({ city: 'Hangzhou', limit: 20 });
    expect(parseOr400(listOffersQuerySchema, { city: 'x'.repeat(100), limit: '5' })).toEqual({
      city: 'x'.repeat(100),
      limit: 5,
    });
  });

  it('requires the city and rejects empty, too long, unknown fields and bad limits', () => {
    expect(fields({})).toEqual(['city:REQUIRED']);
    expect(fields({ city: '' })).toEqual(['city:TOO_SMALL']);
    expect(fields({ city: '   ' })).toEqual(['city:TOO_SMALL']);
    expect(fields({ city: 'x'.repeat(101) })).toEqual(['city:TOO_BIG']);
    expect(fields({ city: 'Hangzhou', limit: '0' })).toEqual(['limit:TOO_SMALL']);
    expect(fields({ city: 'Hangzhou', limit: '101' })).toEqual(['limit:TOO_BIG']);
    expect(fields({ city: 'Hangzhou', country: 'CN' })).toEqual(['country:UNKNOWN_FIELD']);
  });
});
