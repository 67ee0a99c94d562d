import type { DataSource } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import { createLogger } from '@admit/messaging';
import type { Principal } from '@admit/service-kit';
import { newTicketSigningKey, scratchDatabase, type ScratchDb } from '@admit/testing';
import type { TicketingSettings } from '../config';
import { TICKETING_MIGRATIONS } from '../database/migrations';
import { TicketSigner } from '../tickets/ticket-code';
import { OrdersService } from './orders.service';

/**
 * Issuance after `payment.succeeded`, set-based (`onPaymentsSucceeded`, the consumer's batch
 * handler) against one event at a time (`onPaymentSucceeded`, the path a failed batch is redone
 * with), on two real PostgreSQL databases built by the service's migrations with the same
 * fixtures. The run mixes every case: plain held and unlimited orders, a multi-slot order, add-ons,
 * a second payment of an order inside the run, amount and merchant mismatches, a cancelled order,
 * late payments with and without room left, a replay and an unknown order.
 */
const logger = createLogger('ticketing-int', 'silent');
const MERCHANT = 'mch_fulfil';
/** The fixtures' day: a week ahead, so that the slots are still on sale whenever the suite runs. */
const DAY = new Date(Math.floor(Date.now() / 86_400_000 + 7) * 86_400_000);
const at = (hours: number) => new Date(DAY.getTime() + hours * 3_600_000).toISOString();
const signer = new TicketSigner(newTicketSigningKey(), 'k1');
const settings = {
  publicBaseUrl: 'http://127.0.0.1:3002',
  holdSeconds: { counter: 300, online: 900 },
  pricingWaitMs: 0,
} as TicketingSettings;

type World = ScratchDb & { orders: OrdersService };

async function world(): Promise<World> {
  const db = await scratchDatabase('admit_ticketing_it', TICKETING_MIGRATIONS);
  await fixtures(db.ds);
  return { ...db, orders: new OrdersService(db.ds, settings, signer, logger) };
}

type Line = [product: string, slot: string | null, quantity: number];
type OrderFixture = {
  id: string;
  status: string;
  capacity: string;
  due: number;
  items: Line[];
  merchant?: string;
  paymentId?: string;
};

const ORDERS: OrderFixture[] = [
  {
    id: 'ord_plain_held',
    status: 'awaiting_payment',
    capacity: 'held',
    due: 5000,
    items: [
      ['prd_slot', 'slt_1', 2],
      ['prd_addon', null, 1],
    ],
  },
  {
    id: 'ord_multi_slot',
    status: 'awaiting_payment',
    capacity: 'held',
    due: 4000,
    items: [
      ['prd_slot', 'slt_2', 1],
      ['prd_slot', 'slt_1', 1],
    ],
  },
  { id: 'ord_unlimited', status: 'awaiting_payment', capacity: 'none', due: 3000, items: [['prd_day', null, 3]] },
  { id: 'ord_pricing_held', status: 'pricing', capacity: 'held', due: 2000, items: [['prd_slot', 'slt_1', 1]] },
  {
    id: 'ord_wrong_amount',
    status: 'awaiting_payment',
    capacity: 'held',
    due: 2000,
    items: [['prd_slot', 'slt_2', 1]],
  },
  { id: 'ord_cancelled', status: 'cancelled', capacity: 'released', due: 2000, items: [['prd_slot', 'slt_2', 1]] },
  { id: 'ord_late_room', status: 'expired', capacity: 'released', due: 2000, items: [['prd_slot', 'slt_2', 1]] },
  { id: 'ord_late_full', status: 'expired', capacity: 'released', due: 4000, items: [['prd_slot', 'slt_3', 2]] },
  { id: 'ord_paid_twice', status: 'awaiting_payment', capacity: 'held', due: 2000, items: [['prd_slot', 'slt_1', 1]] },
  {
    id: 'ord_other_merchant',
    status: 'awaiting_payment',
    capacity: 'none',
    due: 1000,
    items: [['prd_day', null, 1]],
    merchant: 'mch_other',
  },
  {
    id: 'ord_fulfilled',
    status: 'fulfilled',
    capacity: 'sold',
    due: 1000,
    items: [['prd_day', null, 1]],
    paymentId: 'pay_before',
  },
];

async function fixtures(ds: DataSource): Promise<void> {
  await ds.query(
    `INSERT INTO attractions (id, merchant_id, name, city, timezone) VALUES ('att_1', $1, 'Zoo', 'Hangzhou', 'Asia/Shanghai')`,
    [MERCHANT],
  );
  await ds.query(
    `INSERT INTO products (id, attraction_id, merchant_id, name, kind, price_value, currency, max_entries, validity, requires_slot) VALUES
       ('prd_slot', 'att_1', $1, 'Timed entry', 'admission', 2000, 'CNY', 1, '"slot"', true),
       ('prd_day', 'att_1', $1, 'Day pass', 'admission', 1000, 'CNY', 2, '"day"', false),
       ('prd_addon', 'att_1', $1, 'Audio guide', 'add_on', 1000, 'CNY', 1, '"day"', false)`,
    [MERCHANT],
  );
  // held = the held orders' units; slt_3 has one place left
  await ds.query(
    `INSERT INTO slots (id, attraction_id, merchant_id, starts_at, ends_at, capacity, held, sold) VALUES
       ('slt_1', 'att_1', $1, $2, $3, 10, 6, 1),
       ('slt_2', 'att_1', $1, $3, $4, 10, 2, 0),
       ('slt_3', 'att_1', $1, $4, $5, 3, 0, 2)`,
    [MERCHANT, at(2), at(3), at(4), at(5)],
  );
  for (const o of ORDERS) {
    await ds.query(
      `INSERT INTO orders (id, merchant_id, attraction_id, channel, status, total_value, amount_due_value, currency, capacity, payment_id, customer_reference)
       VALUES ($1, $2, 'att_1', 'counter', $3, $4, $4, 'CNY', $5, $6, 'ref-1')`,
      [o.id, o.merchant ?? MERCHANT, o.status, o.due, o.capacity, o.paymentId ?? null],
    );
    for (const [i, [product, slot, quantity]] of o.items.entries())
      await ds.query(
        `INSERT INTO order_items (order_id, line, product_id, slot_id, quantity, unit_price_value) VALUES ($1, $2, $3, $4, $5, 1000)`,
        [o.id, i + 1, product, slot, quantity],
      );
  }
}

function payment(orderId: string, value: number, paymentId = `pay_${orderId}`): EventPayload<'payment.succeeded'> {
  return {
    paymentId,
    orderId,
    merchantId: MERCHANT,
    amount: { value, currency: 'CNY' },
    wallet: 'alipay',
    walletTransactionId: `w_${paymentId}`,
    partnerTransId: `p_${paymentId}`,
    paidAt: at(1.5),
    exchangeRate: null,
    settlementAmount: null,
  };
}

const RUN: EventPayload<'payment.succeeded'>[] = [
  payment('ord_plain_held', 5000),
  payment('ord_wrong_amount', 1999),
  payment('ord_multi_slot', 4000),
  payment('ord_paid_twice', 2000, 'pay_first'),
  payment('ord_late_full', 4000),
  payment('ord_unlimited', 3000),
  payment('ord_cancelled', 2000),
  payment('ord_paid_twice', 2000, 'pay_second'),
  payment('ord_late_room', 2000),
  payment('ord_unknown', 1000),
  payment('ord_pricing_held', 2000),
  payment('ord_other_merchant', 1000),
  payment('ord_fulfilled', 1000, 'pay_before'),
  payment('ord_plain_held', 5000), // the same event again (a replayed record with a new event id)
];

/** Everything the handlers write, without the random ticket ids, codes and clock times. */
async function state(ds: DataSource) {
  const orders = await ds.query(
    `SELECT id, status, capacity, payment_id, flagged_reason, refund_requested_at IS NOT NULL AS refund_requested
       FROM orders ORDER BY id`,
  );
  const slots = await ds.query(`SELECT id, held, sold FROM slots ORDER BY id`);
  const tickets = await ds.query(
    `SELECT order_id, product_id, slot_id, status, max_entries, entries_left, valid_from, valid_to, count(*)::int AS n
       FROM tickets GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY 1, 2, 3`,
  );
  const events = (
    (await ds.query(`SELECT message_key, value FROM outbox ORDER BY id`)) as { message_key: string; value: string }[]
  ).map((r) => {
    const e = JSON.parse(r.value) as { type: string; payload: Record<string, unknown> };
    const {
      issuedAt,
      fulfilledAt,
      requestedAt,
      tickets: issued,
      ...rest
    } = e.payload as {
      issuedAt?: string;
      fulfilledAt?: string;
      requestedAt?: string;
      tickets?: { ticketId: string }[];
    };
    void issuedAt;
    void fulfilledAt;
    void requestedAt;
    return {
      key: r.message_key,
      type: e.type,
      payload: { ...rest, ...(issued ? { tickets: issued.map(({ ticketId, ...t }) => (void ticketId, t)) } : {}) },
    };
  });
  // per aggregate, in order (the order across aggregates is not a contract)
  const perOrder = new Map<string, unknown[]>();
  for (const e of events) perOrder.set(e.key, [...(perOrder.get(e.key) ?? []), e]);
  return { orders, slots, tickets, events: [...perOrder.entries()].sort(([a], [b]) => (a < b ? -1 : 1)) };
}

let one: World;
let set: World;
let sale: World;

beforeAll(async () => {
  one = await world();
  set = await world();
  sale = await world();
});

afterAll(async () => {
  for (const w of [one, set, sale]) await w?.drop();
});

it('the set-based handler leaves exactly what one event at a time leaves', async () => {
  await one.ds.transaction(async (m) => {
    for (const p of RUN) await one.orders.onPaymentSucceeded(p, m);
  });
  await set.ds.transaction((m) => set.orders.onPaymentsSucceeded(RUN, m));
  const [a, b] = [await state(one.ds), await state(set.ds)];
  expect(b).toEqual(a);

  // and what it leaves is right
  const byId = new Map(
    (a.orders as { id: string; status: string; flagged_reason: string | null }[]).map((o) => [o.id, o]),
  );
  expect(byId.get('ord_plain_held')?.status).toBe('fulfilled');
  expect(byId.get('ord_multi_slot')?.status).toBe('fulfilled');
  expect(byId.get('ord_pricing_held')?.status).toBe('fulfilled');
  expect(byId.get('ord_late_room')?.status).toBe('fulfilled');
  expect(byId.get('ord_late_full')?.flagged_reason).toMatch(/^LATE_PAYMENT_SOLD_OUT/);
  expect(byId.get('ord_wrong_amount')?.flagged_reason).toMatch(/^AMOUNT_MISMATCH/);
  expect(byId.get('ord_cancelled')?.flagged_reason).toMatch(/^ORDER_CLOSED/);
  expect(byId.get('ord_paid_twice')?.flagged_reason).toMatch(/^DUPLICATE_PAYMENT/);
  expect(byId.get('ord_other_merchant')?.flagged_reason).toBe('merchant mismatch');
  // held 6/2 → sold: slt_1 gets 2 + 1 + 1 + 1 (plain, multi, pricing, paid twice), slt_2 gets 1
  // (multi) + 1 (late payment with room); slt_3 stays full of its two sold places
  expect(a.slots).toEqual([
    { id: 'slt_1', held: 1, sold: 6 },
    { id: 'slt_2', held: 1, sold: 2 },
    { id: 'slt_3', held: 0, sold: 2 },
  ]);
  const ticketCount = (a.tickets as { n: number }[]).reduce((n, t) => n + t.n, 0);
  expect(ticketCount).toBe(2 + 2 + 3 + 1 + 1 + 1); // add-ons issue no ticket
});

describe('placing an order: one statement for the order, its items, its event and the hold', () => {
  const merchant: Principal = { keyId: 'key_1', scope: 'merchant', merchantId: MERCHANT, attractionId: null };
  const slots = async () =>
    (await sale.ds.query(`SELECT id, held, sold FROM slots ORDER BY id`)) as {
      id: string;
      held: number;
      sold: number;
    }[];
  const count = async (table: string) =>
    Number(((await sale.ds.query(`SELECT count(*)::int AS n FROM ${table}`)) as { n: number }[])[0]?.n);

  it('holds every slot of a multi-slot order and answers what get() reads', async () => {
    const before = await slots();
    const { order, created } = await sale.orders.create(
      merchant,
      {
        channel: 'online',
        items: [
          { productId: 'prd_slot', slotId: 'slt_2', quantity: 2 },
          { productId: 'prd_day', quantity: 1 },
          { productId: 'prd_slot', slotId: 'slt_1', quantity: 1 },
        ],
        customer: { reference: 'ref-9' },
      },
      'idem-multi',
    );
    expect(created).toBe(true);
    expect(order).toEqual(await sale.orders.get(merchant, order.id));
    expect(order).toMatchObject({ status: 'awaiting_payment', total: { value: 7000, currency: 'CNY' }, tickets: [] });
    const after = await slots();
    expect(after.map((x, i) => x.held - (before[i]?.held ?? 0))).toEqual([1, 2, 0]);
    const [event] = (await sale.ds.query(
      `SELECT value FROM outbox WHERE message_key = $1 AND value LIKE '%order.placed%'`,
      [order.id],
    )) as { value: string }[];
    expect(JSON.parse(event?.value ?? '{}').payload).toMatchObject({ orderId: order.id, total: { value: 7000 } });
    // the same key again: the stored order, not a second one
    const again = await sale.orders.create(
      merchant,
      { channel: 'online', items: [{ productId: 'prd_day', quantity: 1 }] },
      'idem-multi',
    );
    expect(again).toMatchObject({ created: false, order: { id: order.id } });
  });

  it('a slot without room fails the whole order: 409 SOLD_OUT naming it, nothing written', async () => {
    const before = { slots: await slots(), orders: await count('orders'), outbox: await count('outbox') };
    await expect(
      sale.orders.create(
        merchant,
        {
          channel: 'counter',
          items: [
            { productId: 'prd_slot', slotId: 'slt_2', quantity: 1 },
            { productId: 'prd_slot', slotId: 'slt_3', quantity: 2 },
          ],
        },
        null,
      ),
    ).rejects.toMatchObject({
      status: 409,
      code: 'SOLD_OUT',
      details: [{ message: 'slot slt_3 cannot take this many visitors' }],
    });
    expect({ slots: await slots(), orders: await count('orders'), outbox: await count('outbox') }).toEqual(before);
  });

  it('concurrent buyers of the last places: exactly as many orders as places', async () => {
    const [slot1] = await slots();
    const left = 10 - (slot1?.held ?? 0) - (slot1?.sold ?? 0);
    const replies = await Promise.allSettled(
      Array.from({ length: left + 8 }, () =>
        sale.orders.create(
          merchant,
          { channel: 'counter', items: [{ productId: 'prd_slot', slotId: 'slt_1', quantity: 1 }] },
          null,
        ),
      ),
    );
    expect(replies.filter((r) => r.status === 'fulfilled')).toHaveLength(left);
    expect(replies.every((r) => r.status === 'fulfilled' || (r.reason as { code?: string }).code === 'SOLD_OUT')).toBe(
      true,
    );
    const [after] = await slots();
    expect((after?.held ?? 0) + (after?.sold ?? 0)).toBe(10);
  });
});
