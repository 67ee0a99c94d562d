import type { DataSource } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import { scratchDatabase, type ScratchDb } from '@admit/testing';
import { PROMOTIONS_MIGRATIONS } from '../database/migrations';
import { SagaConsumer } from './saga.consumer';

/**
 * Coupon reservation for a run of `order.placed` events, set-based (the consumer's batch
 * handler) against one event at a time (the handler a failed batch is redone with), on two real
 * PostgreSQL databases built by the service's migrations with the same campaigns and coupons.
 * The run crosses every limit inside the run itself (total uses, budget, per customer), mixes two
 * campaigns, personal coupons between code uses (one used twice), a paused, a future, a city and
 * an attraction-bound campaign, unknown and malformed codes, a replayed order and an order
 * without a code.
 */
const M = 'mch_reserve';

async function world(): Promise<ScratchDb> {
  const db = await scratchDatabase('admit_promotions_it', PROMOTIONS_MIGRATIONS);
  await fixtures(db.ds);
  return db;
}

const campaign = (
  id: string,
  code: string | null,
  trigger: 'code' | 'claim',
  o: { limits?: object; discount?: object; status?: string; validFrom?: string; city?: string; attractions?: string[] },
) => ({
  id,
  code,
  trigger,
  limits: JSON.stringify(o.limits ?? {}),
  discount: JSON.stringify(o.discount ?? { amountOff: { value: 500, currency: 'CNY' } }),
  status: o.status ?? 'active',
  validFrom: o.validFrom ?? '2026-01-01T00:00:00Z',
  city: o.city ?? null,
  attractions: o.attractions ?? [],
});

const CAMPAIGNS = [
  campaign('cmp_three', 'THREE', 'code', { limits: { totalRedemptions: 3 } }),
  campaign('cmp_budget', 'BUDGET', 'code', {
    limits: { budget: { value: 1200, currency: 'CNY' } },
    discount: { percentOff: 10 },
  }),
  campaign('cmp_percust', 'ONEEACH', 'code', { limits: { perCustomer: 1 } }),
  campaign('cmp_paused', 'PAUSED', 'code', { status: 'paused' }),
  campaign('cmp_future', 'LATER', 'code', { validFrom: '2027-06-01T00:00:00Z' }),
  campaign('cmp_city', 'SHANGHAI', 'code', { city: 'Shanghai' }),
  campaign('cmp_here', 'HEREONLY', 'code', { attractions: ['att_other'] }),
  // claim campaign with a budget shared by personal coupons
  campaign('cmp_claim', null, 'claim', { limits: { budget: { value: 800, currency: 'CNY' } } }),
];

async function fixtures(ds: DataSource): Promise<void> {
  await ds.query(
    `INSERT INTO merchants (id, name, country, city, timezone, settlement_currency, onboarded_at)
     VALUES ($1, 'Zoo', 'CN', 'Hangzhou', 'Asia/Shanghai', 'CNY', now())`,
    [M],
  );
  await ds.query(
    `INSERT INTO attractions (id, merchant_id, city, timezone) VALUES ('att_1', $1, 'Hangzhou', 'Asia/Shanghai')`,
    [M],
  );
  for (const c of CAMPAIGNS)
    await ds.query(
      `INSERT INTO campaigns (id, merchant_id, name, city, attraction_ids, trigger, code, discount, limits, valid_from, valid_to,
                             stacking, status)
       VALUES ($1, $2, $1, $3, $4, $5, $6, $7, $8, $9, '2027-12-31T00:00:00Z', 'exclusive', $10)`,
      [c.id, M, c.city, c.attractions, c.trigger, c.code, c.discount, c.limits, c.validFrom, c.status],
    );
  // personal coupons of the claim campaign (each already holds its slot)
  await ds.query(
    `INSERT INTO coupons (id, code, campaign_id, merchant_id, customer_reference, status, valid_to, trigger) VALUES
       ('cpn_p1', 'PERSONAL1', 'cmp_claim', $1, 'cust-p', 'issued', '2027-12-31T00:00:00Z', 'claim'),
       ('cpn_p2', 'PERSONAL2', 'cmp_claim', $1, 'cust-q', 'issued', '2027-12-31T00:00:00Z', 'claim'),
       ('cpn_p3', 'PERSONAL3', 'cmp_claim', $1, 'cust-r', 'issued', '2027-12-31T00:00:00Z', 'claim')`,
    [M],
  );
  await ds.query(`UPDATE campaigns SET redemptions = 3 WHERE id = 'cmp_claim'`);
}

let n = 0;
function placed(code: string | null, customer: string | null = null, total = 5000): EventPayload<'order.placed'> {
  n += 1;
  return {
    orderId: `ord_${String(n).padStart(3, '0')}`,
    merchantId: M,
    attractionId: 'att_1',
    channel: 'counter',
    items: [
      {
        productId: 'prd_1',
        productKind: 'admission',
        slotId: null,
        quantity: 1,
        unitPrice: { value: total, currency: 'CNY' },
      },
    ],
    total: { value: total, currency: 'CNY' },
    amountDue: { value: total, currency: 'CNY' },
    couponCode: code,
    customerReference: customer,
    holdExpiresAt: null,
    placedAt: '2026-11-26T10:00:00.000Z',
  };
}

const RUN: EventPayload<'order.placed'>[] = [
  placed('three', 'c1'),
  placed(' THREE ', 'c2'),
  placed('budget', null, 5000), // 500
  placed('PERSONAL1'), // personal: 500 of the claim budget
  placed('three', 'c3'),
  placed('THREE', 'c4'), // the fourth use: CAMPAIGN_EXHAUSTED
  placed('BUDGET', null, 6000), // 600 → 1100
  placed('oneeach', 'alice'),
  placed('ONEEACH', 'alice'), // CUSTOMER_LIMIT_REACHED
  placed('ONEEACH', null), // CUSTOMER_REFERENCE_REQUIRED
  placed('PERSONAL2'), // 500 more of 800: BUDGET_EXHAUSTED
  placed('PERSONAL1'), // already reserved: COUPON_ALREADY_USED
  placed('budget', null, 2000), // 200 → 1300 > 1200: BUDGET_EXHAUSTED
  placed('budget', null, 1000), // 100 → 1200: fits exactly
  placed('PAUSED'),
  placed('later'),
  placed('shanghai'),
  placed('hereonly'),
  placed('NOPE'),
  placed('x'.repeat(80)),
  placed('   '),
  placed(null),
  placed('oneeach', 'bob'),
];
RUN.push({ ...(RUN[0] as EventPayload<'order.placed'>) }); // the first order again: a replay, no second answer

/** Everything the reservation writes, without random coupon ids and codes or clock times. */
async function state(ds: DataSource) {
  const campaigns = await ds.query(`SELECT id, redemptions, budget_used::int AS budget FROM campaigns ORDER BY id`);
  const coupons = await ds.query(
    `SELECT campaign_id, customer_reference, status, order_id, discount_value::int AS discount, trigger,
            CASE WHEN trigger = 'code' THEN NULL ELSE code END AS code
       FROM coupons ORDER BY order_id NULLS LAST, campaign_id, customer_reference`,
  );
  const answers = await ds.query(
    `SELECT order_id, outcome, reason, coupon_id IS NOT NULL AS has_coupon FROM coupon_answers ORDER BY order_id`,
  );
  const events = ((await ds.query(`SELECT value FROM outbox ORDER BY id`)) as { value: string }[]).map((r) => {
    const e = JSON.parse(r.value) as { type: string; payload: Record<string, unknown> };
    const { couponId, reservedAt, rejectedAt, ...rest } = e.payload;
    void reservedAt;
    void rejectedAt;
    return {
      type: e.type,
      ...rest,
      couponId: typeof couponId === 'string' && couponId.startsWith('cpn_p') ? couponId : null,
    };
  });
  const seen = await ds.query(`SELECT order_id FROM orders_seen ORDER BY order_id`);
  return { campaigns, coupons, answers, events, seen };
}

let one: ScratchDb;
let set: ScratchDb;

beforeAll(async () => {
  one = await world();
  set = await world();
});

afterAll(async () => {
  for (const w of [one, set]) await w?.drop();
});

it('the set-based reservation answers and counts exactly as one order at a time', async () => {
  const saga = new SagaConsumer();
  const single = saga.handlers()['order.placed'];
  const batch = saga.batchHandlers()['order.placed'];
  if (!single || !batch) throw new Error('order.placed handlers missing');
  await one.ds.transaction(async (m) => {
    for (const p of RUN) await single(p, { manager: m } as never);
  });
  await set.ds.transaction((m) =>
    batch(
      RUN.map((p, i) => ({ payload: p, envelope: {} as never, offset: String(i) })),
      { manager: m, topic: 'orders', partition: 0 },
    ),
  );
  const [a, b] = [await state(one.ds), await state(set.ds)];
  expect(b).toEqual(a);

  const answer = new Map(
    (a.answers as { order_id: string; outcome: string; reason: string | null }[]).map((r) => [r.order_id, r]),
  );
  const reasons = RUN.slice(0, 23).map(
    (p) => answer.get(p.orderId)?.reason ?? answer.get(p.orderId)?.outcome ?? 'none',
  );
  expect(reasons).toEqual([
    'reserved',
    'reserved',
    'reserved',
    'reserved',
    'reserved',
    'CAMPAIGN_EXHAUSTED',
    'reserved',
    'reserved',
    'CUSTOMER_LIMIT_REACHED',
    'CUSTOMER_REFERENCE_REQUIRED',
    'BUDGET_EXHAUSTED',
    'COUPON_ALREADY_USED',
    'BUDGET_EXHAUSTED',
    'reserved',
    'CAMPAIGN_PAUSED',
    'COUPON_NOT_YET_VALID',
    'COUPON_NOT_APPLICABLE',
    'COUPON_NOT_APPLICABLE',
    'COUPON_UNKNOWN',
    'COUPON_UNKNOWN',
    'COUPON_UNKNOWN',
    'none',
    'reserved',
  ]);
  expect(a.campaigns).toEqual([
    { id: 'cmp_budget', redemptions: 3, budget: 1200 },
    { id: 'cmp_city', redemptions: 0, budget: 0 },
    { id: 'cmp_claim', redemptions: 3, budget: 500 },
    { id: 'cmp_future', redemptions: 0, budget: 0 },
    { id: 'cmp_here', redemptions: 0, budget: 0 },
    { id: 'cmp_paused', redemptions: 0, budget: 0 },
    { id: 'cmp_percust', redemptions: 2, budget: 1000 },
    { id: 'cmp_three', redemptions: 3, budget: 1500 },
  ]);
  expect(a.events).toHaveLength(22); // one answer per order with a code, the replay answered once
});
