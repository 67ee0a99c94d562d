import { listPaymentsQuerySchema } from './payments.dto';

describe('listPaymentsQuerySchema dates', () => {
  it.each(['2026-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z', '9999-12-31T23:59:59Z', '2024-02-29T10:00:00.123Z'])(
    'accepts %s',
    (v) => {
      expect(listPaymentsQuerySchema.safeParse({ createdFrom: v, createdTo: v }).success).toBe(true);
    },
  );

  it.each([
    '0000-01-01T00:00:00Z',
    '0000-12-31T23:59:59Z',
    '1969-12-31T23:59:59Z',
    '2026-02-30T00:00:00Z',
    '2026-13-01T00:00:00Z',
    'yesterday',
  ])('refuses %s (PostgreSQL cannot hold or compare it)', (v) => {
    for (const field of ['createdFrom', 'createdTo']) {
      const r = listPaymentsQuerySchema.safeParse({ [field]: v });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual([field]);
    }
  });
});
