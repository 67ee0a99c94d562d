import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { newId, type EventPayload } from '@admit/contracts';
import type { Principal } from '@admit/service-kit';
import { scratchDatabase, type ScratchDb } from '@admit/testing';
import { CouponsService } from '../coupons/coupons.service';
import { redeemForOrder, redeemForOrders } from '../coupons/engine';
import { PROMOTIONS_MIGRATIONS } from '../database/migrations';
import { MerchantsConsumer } from '../merchants/merchants.consumer';
import { OffersService } from '../offers/offers.service';
import { PurchasesConsumer } from './purchases.consumer';
import { PurchasesService } from './purchases.service';

/** The promotions handlers and list queries against a real PostgreSQL database of this file's own. */
let db: ScratchDb;
let ds: DataSource;
const consumer = new PurchasesConsumer();

beforeAll(async () => {
  db = await scratchDatabase('admit_promotions_it', PROMOTIONS_MIGRATIONS);
  ds = db.ds;
});

afterAll(async () => {
  await db?.drop();
});

const tx = <T>(fn: (m: EntityManager) => Promise<T>) => ds.transaction(fn);
const merchantKey = (merchantId: string): Principal => ({
  keyId: newId('apiKey'),
  scope: 'merchant',
  merchantId,
  attractionId: null,
});

function issued(merchantId: string, customerReference: string | null): EventPayload<'tickets.issued'> {
  const ticket = (productKind: 'admission' | 'restaurant') => ({
    ticketId: newId('ticket'),
    productId: newId('product'),
    productKind,
    slotId: null,
    validFrom: '2026-05-01T00:00:00.000Z',
    validTo: '2026-05-02T00:00:00.000Z',
    maxEntries: 1,
  });
  return {
    orderId: newId('order'),
    merchantId,
    attractionId: newId('attraction'),
    city: 'Hangzhou',
    paymentId: newId('payment'),
    customerReference,
    amountPaid: { value: 25_000, currency: 'CNY' },
    tickets: [ticket('restaurant'), ticket('admission'), ticket('admission')],
    issuedAt: '2026-05-01T09:30:00.000Z',
  };
}

describe('promotions handlers (PostgreSQL)', () => {
  it('records a purchase once per order and lists only the merchant’s own', async () => {
    const mine = newId('merchant');
    const theirs = newId('merchant');
    await tx((m) =>
      new MerchantsConsumer().merchantOnboarded(m, {
        merchantId: mine,
        name: 'Zoo',
        country: 'CN',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7998',
        settlementCurrency: 'CNY',
        createdAt: '2026-04-01T00:00:00.000Z',
      }),
    );
    const sale = issued(mine, 'cust-1');
    await tx((m) => consumer.ticketsIssued(m, sale));
    await tx((m) => consumer.ticketsIssued(m, { ...sale, amountPaid: { value: 1, currency: 'CNY' } })); // replay: first one wins
    await tx((m) => consumer.ticketsIssued(m, issued(mine, 'cust-2')));
    await tx((m) => consumer.ticketsIssued(m, issued(theirs, 'cust-1')));
    const svc = new PurchasesService(ds);
    const page = await svc.list(merchantKey(mine), { limit: 20, customerReference: 'cust-1' }, null);
    expect(page).toEqual({
      data: [
        {
          orderId: sale.orderId,
          merchantId: mine,
          attractionId: sale.attractionId,
          city: 'Hangzhou',
          customerReference: 'cust-1',
          paymentId: sale.paymentId,
          amountPaid: { value: 25_000, currency: 'CNY' },
          ticketCount: 3,
          productKinds: ['admission', 'restaurant'],
          issuedAt: '2026-05-01T09:30:00.000Z',
        },
      ],
      nextCursor: null,
    });
    const all = await svc.list(merchantKey(mine), { limit: 1 }, null);
    expect(all.data).toHaveLength(1);
    expect(all.nextCursor).not.toBeNull();
    const rest = await svc.list(
      merchantKey(mine),
      { limit: 1 },
      Buffer.from(all.nextCursor ?? '', 'base64url').toString('utf8'),
    );
    expect(rest.data).toHaveLength(1);
    expect(rest.nextCursor).toBeNull();
    expect((await svc.list(merchantKey(theirs), { limit: 20 }, null)).data.map((p) => p.merchantId)).toEqual([theirs]);
  });

  it('records an order placed once', async () => {
    const placed: EventPayload<'order.placed'> = {
      orderId: newId('order'),
      merchantId: newId('merchant'),
      attractionId: newId('attraction'),
      channel: 'counter',
      items: [
        {
          productId: newId('product'),
          productKind: 'admission',
          slotId: null,
          quantity: 2,
          unitPrice: { value: 5_000, currency: 'CNY' },
        },
      ],
      total: { value: 10_000, currency: 'CNY' },
      amountDue: { value: 9_000, currency: 'CNY' },
      couponCode: 'SPRING10',
      customerReference: null,
      holdExpiresAt: null,
      placedAt: '2026-05-01T09:00:00.000Z',
    };
    await tx((m) => consumer.orderPlaced(m, placed));
    await tx((m) => consumer.orderPlaced(m, placed));
    const rows = (await ds.query(
      `SELECT coupon_code, amount_due_value::int AS due, total_value::int AS total FROM orders_seen WHERE order_id = $1`,
      [placed.orderId],
    )) as unknown[];
    expect(rows).toEqual([{ coupon_code: 'SPRING10', due: 9_000, total: 10_000 }]);
  });

  it('lists claimable offers of a city and a merchant’s coupons from the real tables', async () => {
    const merchantId = newId('merchant');
    const campaign = async (over: Record<string, unknown>) => {
      const c = {
        id: newId('campaign'),
        city: 'Hangzhou',
        trigger: 'claim',
        status: 'active',
        valid_from: '2026-01-01T00:00:00Z',
        valid_to: '2099-01-01T00:00:00Z',
        limits: {},
        redemptions: 0,
        ...over,
      };
      await ds.query(
        `INSERT INTO campaigns (id, merchant_id, name, city, trigger, discount, conditions, limits, valid_from, valid_to, stacking, status, redemptions)
         VALUES ($1, $2, $3, $4, $5, $6, '{}', $7, $8, $9, 'exclusive', $10, $11)`,
        [
          c.id,
          merchantId,
          `c-${c.id}`,
          c.city,
          c.trigger,
          { percentOff: 10 },
          c.limits,
          c.valid_from,
          c.valid_to,
          c.status,
          c.redemptions,
        ],
      );
      return c.id;
    };
    const open = await campaign({ limits: { totalRedemptions: 100 }, redemptions: 40 });
    const unlimited = await campaign({ city: 'HANGZHOU' });
    await campaign({ status: 'paused' });
    await campaign({ trigger: 'post_purchase' });
    await campaign({ city: 'Shanghai' });
    await campaign({ valid_to: '2026-02-01T00:00:00Z' });
    await campaign({ limits: { totalRedemptions: 5 }, redemptions: 5 });
    await campaign({ limits: { budget: { value: 1_000, currency: 'CNY' } } });
    await ds.query(`UPDATE campaigns SET budget_used = 1000 WHERE limits ? 'budget'`);
    const offers = await new OffersService(ds).list({ city: 'hangzhou', limit: 20 }, null);
    expect(offers.nextCursor).toBeNull();
    expect(offers.data).toEqual([
      {
        campaignId: open,
        name: `c-${open}`,
        city: 'Hangzhou',
        discount: { percentOff: 10 },
        validTo: '2099-01-01T00:00:00.000Z',
        remaining: 60,
      },
      {
        campaignId: unlimited,
        name: `c-${unlimited}`,
        city: 'HANGZHOU',
        discount: { percentOff: 10 },
        validTo: '2099-01-01T00:00:00.000Z',
      },
    ]);
    expect((await new OffersService(ds).list({ city: 'Nowhere', limit: 20 }, null)).data).toEqual([]);

    const couponId = newId('coupon');
    await ds.query(
      `INSERT INTO coupons (id, code, campaign_id, merchant_id, customer_reference, status, valid_to) VALUES ($1, $2, $3, $4, 'cust-9', 'issued', '2099-01-01T00:00:00Z')`,
      [couponId, `C${randomUUID().slice(0, 8)}`, open, merchantId],
    );
    const coupons = new CouponsService(ds);
    const mine = await coupons.list(merchantKey(merchantId), { limit: 20, customerReference: 'cust-9' }, null);
    expect(mine.data).toEqual([
      {
        id: couponId,
        code: expect.any(String),
        campaignId: open,
        status: 'issued',
        customerReference: 'cust-9',
        validTo: '2099-01-01T00:00:00.000Z',
      },
    ]);
    expect(
      (await coupons.list(merchantKey(newId('merchant')), { limit: 20, customerReference: 'cust-9' }, null)).data,
    ).toEqual([]);
  });

  it('redeems the reserved coupons of many paid orders at once, exactly like one order after the other', async () => {
    const merchantId = newId('merchant');
    const campaignId = newId('campaign');
    await ds.query(
      `INSERT INTO campaigns (id, merchant_id, name, city, trigger, code, discount, conditions, limits, valid_from, valid_to, stacking, status, redemptions)
       VALUES ($1, $2, 'batch', NULL, 'code', $3, '{"percentOff":10}', '{}', '{}', '2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z', 'exclusive', 'active', 3)`,
      [campaignId, merchantId, `B${randomUUID().slice(0, 8)}`],
    );
    const orders = [newId('order'), newId('order'), newId('order')];
    const coupons: string[] = [];
    for (const [i, orderId] of orders.entries()) {
      const id = newId('coupon');
      coupons.push(id);
      await ds.query(
        `INSERT INTO coupons (id, code, campaign_id, merchant_id, status, order_id, trigger, discount_value, discount_currency, reserved_at, valid_to)
         VALUES ($1, $2, $3, $4, 'reserved', $5, 'code', $6, 'CNY', now(), '2099-01-01T00:00:00Z')`,
        [id, `R${randomUUID().slice(0, 8)}`, campaignId, merchantId, orderId, 100 * (i + 1)],
      );
    }
    const redeemed = async () =>
      (await ds.query(
        `SELECT value::jsonb->'payload' AS p FROM outbox_events WHERE value::jsonb->>'type' = 'coupon.redeemed'
           AND value::jsonb->'payload'->>'campaignId' = $1 ORDER BY id`,
        [campaignId],
      )) as { p: { couponId: string; orderId: string; discount: { value: number } } }[];
    // the last order alone (single path), then a batch with the others, an unknown order and a repeat
    await tx((m) => redeemForOrder(m, orders[2]!));
    await tx((m) => redeemForOrders(m, [orders[1]!, newId('order'), orders[0]!, orders[2]!]));
    await tx((m) => redeemForOrders(m, [...orders])); // replay: nothing moves, nothing is published
    const events = await redeemed();
    expect(events.map((e) => [e.p.orderId, e.p.couponId, e.p.discount.value])).toEqual([
      [orders[2], coupons[2], 300],
      [orders[1], coupons[1], 200],
      [orders[0], coupons[0], 100],
    ]);
    const statuses = (await ds.query(`SELECT status FROM coupons WHERE campaign_id = $1`, [campaignId])) as {
      status: string;
    }[];
    expect(statuses.map((r) => r.status)).toEqual(['redeemed', 'redeemed', 'redeemed']);
  });

  it('reverts its migrations cleanly', async () => {
    for (let i = 0; i < PROMOTIONS_MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    const left = (await ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)) as {
      tablename: string;
    }[];
    expect(left.map((t) => t.tablename)).toEqual(['schema_migrations']);
  });
});
