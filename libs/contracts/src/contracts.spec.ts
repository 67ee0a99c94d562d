import {
  allTopicSpecs,
  dlqTopic,
  envelopeSchema,
  EVENT_REGISTRY,
  EVENT_TYPES,
  formatMajor,
  idSchema,
  isId,
  newId,
  parseMajor,
  payloadSchema,
  TOPICS,
} from './index';

describe('money', () => {
  it.each([
    [{ value: 1250, currency: 'CNY' }, '12.50'],
    [{ value: 5, currency: 'USD' }, '0.05'],
    [{ value: 0, currency: 'EUR' }, '0.00'],
    [{ value: 1200, currency: 'JPY' }, '1200'],
    [{ value: 10000000000, currency: 'CNY' }, '100000000.00'],
  ] as const)('formats %j as %s and parses it back exactly', (money, text) => {
    expect(formatMajor(money)).toBe(text);
    expect(parseMajor(text, money.currency)).toEqual(money);
  });

  it('refuses more decimals than the currency has, and non-numbers', () => {
    expect(() => parseMajor('100.999', 'USD')).toThrow(/2 decimals/);
    expect(() => parseMajor('12.5', 'JPY')).toThrow(/0 decimals/);
    expect(() => parseMajor('1e3', 'CNY')).toThrow(/not a decimal/);
    expect(parseMajor('12.500', 'CNY')).toEqual({ value: 1250, currency: 'CNY' });
  });
});

describe('ids', () => {
  it('are prefixed, unique and sort by creation time', () => {
    const a = newId('order', 1_700_000_000_000);
    const b = newId('order', 1_700_000_000_001);
    expect(a).toMatch(/^ord_[0-9a-z]{25}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => newId('ticket'))).size).toBe(1000);
  });

  it('validate kind and shape', () => {
    expect(isId('order', newId('order'))).toBe(true);
    expect(isId('order', newId('payment'))).toBe(false);
    expect(idSchema('order').safeParse("ord_' OR 1=1 --").success).toBe(false);
    expect(idSchema('order').safeParse(`ord_${'a'.repeat(60)}`).success).toBe(false);
  });
});

describe('topics and events', () => {
  it('give every topic a dead-letter topic and every event a topic of the registry', () => {
    const specs = allTopicSpecs();
    for (const t of Object.values(TOPICS)) {
      expect(specs).toContainEqual({ topic: t.name, numPartitions: t.partitions });
      expect(specs).toContainEqual({ topic: dlqTopic(t.name), numPartitions: 1 });
    }
    const names = new Set(Object.values(TOPICS).map((t) => t.name));
    for (const type of EVENT_TYPES) expect(names.has(EVENT_REGISTRY[type].topic)).toBe(true);
  });

  it('validate payloads by type and version, and reject unknown ones', () => {
    const schema = payloadSchema('payment.succeeded', 1);
    expect(schema).toBeDefined();
    expect(schema?.safeParse({ paymentId: 'pay_x' }).success).toBe(false);
    expect(payloadSchema('payment.succeeded', 99)).toBeUndefined();
    expect(payloadSchema('no.such', 1)).toBeUndefined();
  });

  it('envelope rejects unknown fields and bad ids', () => {
    const ok = {
      eventId: '0b7e9f0e-6a8f-4a4b-9d55-0c3a3d5c2f10',
      type: 'payment.succeeded',
      schemaVersion: 1,
      occurredAt: '2026-05-01T09:30:00.000Z',
      merchantId: 'mch_x',
      correlationId: 'c',
      causationId: null,
      aggregateType: 'payment',
      aggregateId: 'pay_x',
      payload: {},
    };
    expect(envelopeSchema.safeParse(ok).success).toBe(true);
    expect(envelopeSchema.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    expect(envelopeSchema.safeParse({ ...ok, eventId: 'nope' }).success).toBe(false);
  });
});
