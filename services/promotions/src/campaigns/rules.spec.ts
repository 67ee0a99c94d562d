import { CODE_ALPHABET, discountFor, generateCode, limitCheck, normalizeCode, percentOf, zonedToUtc } from './rules';
import { boundToUtc } from './campaigns.service';
import { createCampaignSchema, updateCampaignSchema } from './campaigns.dto';
import { AdmitError, parseOr400 } from '@admit/service-kit';

const cny = (value: number) => ({ value, currency: 'CNY' });
const order = (lines: [string, number, number][], amountDue?: number) => {
  const items = lines.map(([productKind, quantity, price]) => ({ productKind, quantity, unitPrice: cny(price) }));
  const total = items.reduce((s, l) => s + l.quantity * l.unitPrice.value, 0);
  return { lines: items, total: cny(total), amountDue: { value: amountDue ?? total } };
};
const campaign = (discount: object, extra: object = {}) =>
  ({ discount, conditions: {}, stacking: 'exclusive', ...extra }) as Parameters<typeof discountFor>[0];

describe('percentOf: half-up in integers', () => {
  it.each([
    [999, 12.5, 125], // 124.875
    [1000, 12.5, 125],
    [5, 10, 1], // 0.5 → 1
    [4, 10, 0], // 0.4 → 0
    [15, 10, 2], // 1.5 → 2
    [12345, 33.33, 4115], // 4114.5885
    [1, 100, 1],
    [100_000_000_00, 99.99, 99_990_000_00],
  ])('%d × %d%% = %d', (amount, pct, want) => expect(percentOf(amount, pct)).toBe(want));

  it('never exceeds the amount and is deterministic', () => {
    for (let a = 0; a < 2000; a += 7)
      for (const p of [0.01, 1, 33.33, 50, 99.99, 100]) {
        const d = percentOf(a, p);
        expect(d).toBeLessThanOrEqual(a);
        expect(d).toBe(percentOf(a, p));
      }
  });
});

describe('discountFor', () => {
  it('percent of the whole order, rounded half-up', () => {
    expect(discountFor(campaign({ percentOff: 15 }), order([['admission', 1, 3333]]))).toEqual({
      ok: true,
      discount: 500,
    });
  });
  it('amountOff is capped at what it applies to', () => {
    expect(discountFor(campaign({ amountOff: cny(5000) }), order([['admission', 1, 3000]]))).toEqual({
      ok: true,
      discount: 3000,
    });
  });
  it('only the lines of the product kinds count', () => {
    const o = order([
      ['admission', 2, 10000],
      ['restaurant', 1, 4000],
    ]);
    expect(discountFor(campaign({ percentOff: 50 }, { conditions: { productKinds: ['restaurant'] } }), o)).toEqual({
      ok: true,
      discount: 2000,
    });
    expect(discountFor(campaign({ percentOff: 50 }, { conditions: { productKinds: ['add_on'] } }), o)).toEqual({
      ok: false,
      reason: 'COUPON_NOT_APPLICABLE',
    });
  });
  it('minimum spend and currency', () => {
    const c = campaign({ amountOff: cny(100) }, { conditions: { minSpend: cny(5000) } });
    expect(discountFor(c, order([['admission', 1, 4999]]))).toEqual({ ok: false, reason: 'MIN_SPEND_NOT_MET' });
    expect(discountFor(c, order([['admission', 1, 5000]]))).toEqual({ ok: true, discount: 100 });
    const usd = campaign({ amountOff: { value: 100, currency: 'USD' } });
    expect(discountFor(usd, order([['admission', 1, 5000]]))).toEqual({ ok: false, reason: 'CURRENCY_MISMATCH' });
  });
  it('stacking: exclusive refuses an already discounted order, stackable discounts what is left', () => {
    const o = order([['admission', 1, 10000]], 8000);
    expect(discountFor(campaign({ percentOff: 10 }), o)).toEqual({ ok: false, reason: 'NOT_STACKABLE' });
    expect(discountFor(campaign({ percentOff: 10 }, { stacking: 'stackable' }), o)).toEqual({
      ok: true,
      discount: 800,
    });
    expect(discountFor(campaign({ amountOff: cny(9000) }, { stacking: 'stackable' }), o)).toEqual({
      ok: true,
      discount: 8000,
    });
  });
});

describe('limitCheck', () => {
  const used = (redemptions: number, budgetUsed: number, customerUses = 0) => ({
    redemptions,
    budgetUsed,
    customerUses,
  });
  it('total redemptions', () => {
    expect(limitCheck({ totalRedemptions: 100 }, used(99, 0), { slot: true, cost: 0 })).toBeNull();
    expect(limitCheck({ totalRedemptions: 100 }, used(100, 0), { slot: true, cost: 0 })).toBe('CAMPAIGN_EXHAUSTED');
    expect(limitCheck({ totalRedemptions: 1 }, used(1, 0), { slot: false, cost: 10 })).toBeNull(); // a claimed coupon holds its slot
  });
  it('budget: never one minor unit over', () => {
    const b = { budget: cny(1000) };
    expect(limitCheck(b, used(0, 900), { slot: true, cost: 100 })).toBeNull();
    expect(limitCheck(b, used(0, 901), { slot: true, cost: 100 })).toBe('BUDGET_EXHAUSTED');
    expect(limitCheck(b, used(0, 1000), { slot: true, cost: 0 })).toBe('BUDGET_EXHAUSTED');
  });
  it('per customer', () => {
    expect(limitCheck({ perCustomer: 2 }, used(5, 0, 1), { slot: true, cost: 0 })).toBeNull();
    expect(limitCheck({ perCustomer: 2 }, used(5, 0, 2), { slot: true, cost: 0 })).toBe('CUSTOMER_LIMIT_REACHED');
  });
});

describe('codes', () => {
  it('are unguessable and human-typable', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const c = generateCode();
      expect(c).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
      for (const ch of c.replace('-', '')) expect(CODE_ALPHABET).toContain(ch);
      expect(c).not.toMatch(/[ILOU]/);
      seen.add(c);
    }
    expect(seen.size).toBe(2000);
    expect(normalizeCode(' ab1o-il ')).toBe('AB10-11');
  });
});

describe('validity in the time zone', () => {
  it('local times and dates are read in the zone', () => {
    expect(zonedToUtc('2026-05-01T09:30', 'Asia/Shanghai').toISOString()).toBe('2026-05-01T01:30:00.000Z');
    expect(zonedToUtc('2026-05-01', 'Asia/Shanghai').toISOString()).toBe('2026-04-30T16:00:00.000Z');
    expect(zonedToUtc('2026-07-01T12:00', 'Europe/Paris').toISOString()).toBe('2026-07-01T10:00:00.000Z');
    expect(zonedToUtc('2026-01-01T12:00', 'Europe/Paris').toISOString()).toBe('2026-01-01T11:00:00.000Z');
    expect(zonedToUtc('2026-05-01T09:30:00Z', 'Asia/Shanghai').toISOString()).toBe('2026-05-01T09:30:00.000Z');
  });
  it('a bare validTo date means the end of that day', () => {
    expect(boundToUtc('2026-05-01', 'Asia/Shanghai', true).toISOString()).toBe('2026-05-01T16:00:00.000Z');
  });
});

function codes(schema: Parameters<typeof parseOr400>[0], body: unknown): string[] {
  try {
    parseOr400(schema, body);
  } catch (err) {
    expect(err).toBeInstanceOf(AdmitError);
    return ((err as AdmitError).details ?? []).map((d) => `${d.field}:${d.code}`).sort();
  }
  return [];
}

describe('campaign validation', () => {
  const ok = {
    name: 'Spring',
    trigger: 'code',
    discount: { percentOff: 10 },
    validFrom: '2026-05-01',
    validTo: '2026-06-01',
  };
  it('accepts a minimal code campaign with defaults', () => {
    expect(parseOr400(createCampaignSchema, ok)).toMatchObject({ stacking: 'exclusive', status: 'active' });
  });
  it('names every bad field', () => {
    expect(
      codes(createCampaignSchema, {
        ...ok,
        trigger: 'lottery',
        discount: { percentOff: 101 },
        limits: { totalRedemptions: 0, budget: { value: -1, currency: 'CNY' }, perCustomer: 1.5 },
        validFrom: 'tomorrow',
        extra: 1,
      }),
    ).toEqual([
      'discount.percentOff:TOO_BIG',
      'extra:UNKNOWN_FIELD',
      'limits.budget.value:TOO_SMALL',
      'limits.perCustomer:INVALID_TYPE',
      'limits.totalRedemptions:TOO_SMALL',
      'trigger:INVALID_VALUE',
      'validFrom:INVALID_FORMAT',
    ]);
  });
  it('a code only on code campaigns, a city on claim campaigns', () => {
    expect(codes(createCampaignSchema, { ...ok, trigger: 'claim', code: 'SPRING' })).toEqual([
      'city:INVALID',
      'code:INVALID',
    ]);
    expect(codes(updateCampaignSchema, {})).toEqual(['(body):INVALID']);
  });
});
