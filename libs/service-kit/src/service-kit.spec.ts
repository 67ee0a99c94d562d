import { z } from 'zod';
import { ConfigError, commonEnv, parseConfig } from './config';
import { AdmitError, mapTransportError, toAdmitError } from './errors';
import { idempotencyRedisKey, requestFingerprint } from './idempotency';
import { decodeCursor, encodeCursor, parseOr400, toPage } from './validation';

describe('config', () => {
  const schema = z.object(commonEnv('PAYMENT', 3001, 'admit_payment'));

  it('applies defaults', () => {
    const c = parseConfig(schema, { ADMIT_ACQUIRER_KEY: 'k'.repeat(30) });
    expect(c['PAYMENT_PORT']).toBe(3001);
    expect(c['KAFKA_BROKERS']).toEqual(['127.0.0.1:9092']);
    expect(c['MIGRATE_ON_BOOT']).toBe(true);
  });

  it('lists every bad key at once', () => {
    try {
      parseConfig(schema, { PAYMENT_PORT: '99999', KAFKA_BROKERS: 'no port', MIGRATE_ON_BOOT: 'maybe' });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const keys = (err as ConfigError).problems.map((p) => p.key).sort();
      expect(keys).toEqual(['ADMIT_ACQUIRER_KEY', 'KAFKA_BROKERS', 'MIGRATE_ON_BOOT', 'PAYMENT_PORT']);
    }
  });
});

describe('validation', () => {
  const schema = z.strictObject({ name: z.string(), amount: z.strictObject({ value: z.number().int() }) });

  it('gives one detail per bad field, unknown fields by name', () => {
    try {
      parseOr400(schema, { amount: { value: 1.5, extra: true }, other: 1 });
      throw new Error('expected a validation error');
    } catch (err) {
      expect(err).toBeInstanceOf(AdmitError);
      const e = err as AdmitError;
      expect(e.status).toBe(400);
      expect(e.code).toBe('VALIDATION_FAILED');
      expect(e.details).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ field: 'name', code: 'REQUIRED' }),
          expect.objectContaining({ field: 'amount.value', code: 'INVALID_TYPE' }),
          expect.objectContaining({ field: 'amount.extra', code: 'UNKNOWN_FIELD' }),
          expect.objectContaining({ field: 'other', code: 'UNKNOWN_FIELD' }),
        ]),
      );
    }
  });

  it('pages with opaque cursors and rejects forged ones', () => {
    const rows = [
      { id: 'ord_0000000000000000000000001' },
      { id: 'ord_0000000000000000000000002' },
      { id: 'ord_0000000000000000000000003' },
    ];
    const page = toPage(rows, 2);
    expect(page.data).toHaveLength(2);
    expect(decodeCursor(page.nextCursor ?? undefined)).toBe('ord_0000000000000000000000002');
    expect(toPage(rows, 3).nextCursor).toBeNull();
    expect(() => decodeCursor(encodeCursor("x' OR 1=1"))).toThrow(AdmitError);
  });
});

describe('errors', () => {
  it('maps body-parser failures to 4xx codes, unknown errors to 500 without details', () => {
    expect(mapTransportError({ type: 'entity.too.large' })?.status).toBe(413);
    expect(mapTransportError({ type: 'entity.parse.failed' })?.code).toBe('MALFORMED_JSON');
    expect(mapTransportError({ type: 'charset.unsupported' })?.status).toBe(415);
    const internal = toAdmitError(new Error('db password is hunter2'));
    expect(internal.status).toBe(500);
    expect(internal.message).not.toContain('hunter2');
  });
});

describe('idempotency keys', () => {
  it('scope keys by service and tenant and fingerprint bodies canonically', () => {
    expect(idempotencyRedisKey('payment', 'mch_a', 'k')).not.toBe(idempotencyRedisKey('payment', 'mch_b', 'k'));
    expect(idempotencyRedisKey('payment', 'mch_a', 'k')).not.toBe(idempotencyRedisKey('ticketing', 'mch_a', 'k'));
    expect(requestFingerprint('POST', '/v1/x', { a: 1, b: { c: 2, d: 3 } })).toBe(
      requestFingerprint('POST', '/v1/x', { b: { d: 3, c: 2 }, a: 1 }),
    );
    expect(requestFingerprint('POST', '/v1/x', { a: 1 })).not.toBe(requestFingerprint('POST', '/v1/x', { a: 2 }));
    expect(requestFingerprint('POST', '/v1/x', { a: 1 })).not.toBe(requestFingerprint('POST', '/v1/y', { a: 1 }));
  });
});
