import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { newId, type Currency, type EventPayload, type EventType } from '@admit/contracts';
import {
  afterCommit,
  appendManyToOutbox,
  appendToOutbox,
  markOutboxWritten,
  outboxInsertSql,
  outboxRows,
  preparedQuery,
  type Logger,
  type NewEvent,
} from '@admit/messaging';
import { AdmitError, isCheckViolation, isUniqueViolation, LOGGER, type Principal } from '@admit/service-kit';
import { merchantOf, type AttractionRow, type ProductRow, type SlotRow } from '../catalog/catalog.service';
import type { TicketingSettings } from '../config';
import { TicketSigner } from '../tickets/ticket-code';
import { validityWindow } from '../tickets/validity';
import type { CreateOrder } from './orders.dto';
import { Waiters } from './waiters';

export const TICKETING_SETTINGS = Symbol('TICKETING_SETTINGS');

type OrderRow = {
  id: string;
  merchant_id: string;
  attraction_id: string;
  channel: 'counter' | 'online';
  status: 'pricing' | 'awaiting_payment' | 'paid' | 'fulfilled' | 'expired' | 'cancelled' | 'refunded';
  total_value: string;
  discount_value: string;
  amount_due_value: string;
  currency: Currency;
  coupon_code: string | null;
  customer_reference: string | null;
  hold_expires_at: Date | null;
  payment_id: string | null;
  capacity: 'none' | 'held' | 'sold' | 'released';
  coupon_reason: string | null;
  flagged_reason: string | null;
  refunded_value: string;
  refund_requested_at: Date | null;
  created_at: Date;
};
type Closable = 'pricing' | 'awaiting_payment';
const OPEN: Closable[] = ['pricing', 'awaiting_payment'];
/** Units per slot of an order, sorted by slot id (a fixed lock order: no deadlocks). */
type SlotUnits = { slotId: string; units: number }[];
type ItemRow = { product_id: string; slot_id: string | null; quantity: number; unit_price_value: string };
/** The columns `onPaymentsSucceeded` locks and reads. */
type LockedOrder = Pick<
  OrderRow,
  | 'id'
  | 'merchant_id'
  | 'attraction_id'
  | 'status'
  | 'amount_due_value'
  | 'currency'
  | 'capacity'
  | 'customer_reference'
>;
type FulfilItem = {
  order_id: string;
  product_id: string;
  slot_id: string | null;
  quantity: number;
  kind: ProductRow['kind'];
  max_entries: number;
  validity: ProductRow['validity'];
  starts_at: Date | null;
  ends_at: Date | null;
};
export type TicketRow = {
  id: string;
  order_id: string;
  merchant_id: string;
  attraction_id: string;
  product_id: string;
  code: string;
  status: 'valid' | 'used' | 'void';
  max_entries: number;
  entries_left: number;
  valid_from: Date;
  valid_to: Date;
};

@Injectable()
export class OrdersService {
  /** Requests waiting for their order's coupon answer (POST /v1/orders with a code). */
  private readonly pricing = new Waiters();

  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(TICKETING_SETTINGS) private readonly settings: TicketingSettings,
    @Inject(TicketSigner) private readonly signer: TicketSigner,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  toTicket(t: TicketRow) {
    return {
      id: t.id,
      orderId: t.order_id,
      code: t.code,
      status: t.status,
      entriesLeft: t.entries_left,
      validFrom: new Date(t.valid_from).toISOString(),
      validTo: new Date(t.valid_to).toISOString(),
      url: `${this.settings.publicBaseUrl}/t/${encodeURIComponent(t.code)}`,
    };
  }

  async create(principal: Principal, input: CreateOrder, idempotencyKey: string | null) {
    const merchantId = merchantOf(principal);
    // A retry with the same Idempotency-Key is answered from Redis (IdempotencyInterceptor); one
    // that gets here anyway meets `orders_idempotency_uq` and gets the stored order (see below).
    // The order's products and slots are read with one statement.
    const productIds = [...new Set(input.items.map((i) => i.productId))];
    const slotIds = [...new Set(input.items.flatMap((i) => (i.slotId ? [i.slotId] : [])))];
    const [catalog] = (await this.ds.query(
      `SELECT (SELECT coalesce(json_agg(p), '[]') FROM products p WHERE p.id = ANY($1) AND p.merchant_id = $3) AS products,
              (SELECT coalesce(json_agg(s), '[]') FROM slots s WHERE s.id = ANY($2) AND s.merchant_id = $3) AS slots`,
      [productIds, slotIds, merchantId],
    )) as { products: ProductRow[]; slots: SlotRow[] }[];
    const products = catalog?.products ?? [];
    const slots = catalog?.slots ?? [];
    const byId = new Map(products.map((p) => [p.id, p]));
    const slotById = new Map(slots.map((sl) => [sl.id, sl]));
    const now = new Date();
    const details = input.items.flatMap((item, i) => {
      const p = byId.get(item.productId);
      if (!p) return [{ field: `items.${i}.productId`, code: 'NOT_FOUND', message: 'No such product.' }];
      if (!item.slotId) {
        return p.requires_slot
          ? [{ field: `items.${i}.slotId`, code: 'REQUIRED', message: 'This product is sold per time slot.' }]
          : [];
      }
      const sl = slotById.get(item.slotId);
      if (!sl || sl.attraction_id !== p.attraction_id)
        return [{ field: `items.${i}.slotId`, code: 'NOT_FOUND', message: 'No such slot for this product.' }];
      if (sl.product_ids && !sl.product_ids.includes(p.id))
        return [
          { field: `items.${i}.slotId`, code: 'NOT_APPLICABLE', message: 'The slot does not sell this product.' },
        ];
      if (new Date(sl.ends_at) <= now)
        return [{ field: `items.${i}.slotId`, code: 'SLOT_ENDED', message: 'The slot is over.' }];
      return [];
    });
    if (details.length > 0) throw new AdmitError(422, 'INVALID_ITEMS', 'Some items cannot be ordered.', details);
    const attractions = new Set(products.map((p) => p.attraction_id));
    const currencies = new Set(products.map((p) => p.currency));
    if (attractions.size !== 1)
      throw AdmitError.unprocessable('MIXED_ATTRACTIONS', 'All items of an order must belong to one attraction.');
    if (currencies.size !== 1)
      throw AdmitError.unprocessable('MIXED_CURRENCIES', 'All items of an order must have one currency.');
    const currency = products[0]?.currency as Currency;
    const attractionId = products[0]?.attraction_id as string;
    const total = input.items.reduce((sum, i) => sum + Number(byId.get(i.productId)?.price_value) * i.quantity, 0);
    if (!Number.isSafeInteger(total) || total > 100_000_000_00)
      throw AdmitError.unprocessable('AMOUNT_TOO_LARGE', 'The order total is too large.');
    const id = newId('order');
    const holdExpiresAt = new Date(Date.now() + this.settings.holdSeconds[input.channel] * 1000);
    const units = slotUnits(input.items.map((i) => ({ slotId: i.slotId ?? null, quantity: i.quantity })));
    const status = input.couponCode ? 'pricing' : 'awaiting_payment';
    const placedItems = input.items.map((i) => {
      const p = byId.get(i.productId) as ProductRow;
      return {
        productId: p.id,
        productKind: p.kind,
        slotId: i.slotId ?? null,
        quantity: i.quantity,
        unitPrice: { value: Number(p.price_value), currency },
      };
    });
    const { columns: event } = outboxRows([
      {
        type: 'order.placed',
        aggregateId: id,
        merchantId,
        payload: {
          orderId: id,
          merchantId,
          attractionId,
          channel: input.channel,
          items: placedItems,
          total: { value: total, currency },
          amountDue: { value: total, currency },
          couponCode: input.couponCode ?? null,
          customerReference: input.customer?.reference ?? null,
          holdExpiresAt: holdExpiresAt.toISOString(),
          placedAt: new Date().toISOString(),
        },
      },
    ]);
    let createdAt: Date;
    try {
      // The order, its items, its event and the capacity hold in one statement, committed on its
      // own: the slot row (every buyer of the slot updates it) is locked only inside the server,
      // from its update to the commit, never across a round trip to this process. Slots are locked
      // in id order; a slot that cannot take the units fails the statement on `slots_capacity_ck`
      // (held + sold <= capacity) and nothing of the order is written.
      const qr = this.ds.createQueryRunner();
      await qr.connect();
      const [row] = await preparedQuery<{ created_at: Date }>(
        qr,
        'ticketing_place_order',
        `WITH o AS (
           INSERT INTO orders (id, merchant_id, attraction_id, idempotency_key, channel, status, total_value, discount_value,
                               amount_due_value, currency, customer_reference, customer_email, customer_phone, hold_expires_at,
                               coupon_code, capacity)
           VALUES ($1, $2, $3, $4, $5, $12, $6, 0, $6, $7, $8, $9, $10, $11, $13, $14)
           RETURNING created_at
         ), i AS (
           INSERT INTO order_items (order_id, line, product_id, slot_id, quantity, unit_price_value)
           SELECT $1, t.line, t.product_id, t.slot_id, t.quantity, t.price
             FROM unnest($15::int[], $16::text[], $17::text[], $18::int[], $19::bigint[]) AS t(line, product_id, slot_id, quantity, price)
         ), e AS (
           ${outboxInsertSql(22)}
         ), l AS (
           SELECT id FROM slots WHERE id = ANY($20::text[]) ORDER BY id FOR UPDATE
         ), h AS (
           UPDATE slots s SET held = s.held + d.n
             FROM (SELECT l.id, u.n FROM l JOIN unnest($20::text[], $21::int[]) AS u(id, n) ON u.id = l.id) d
            WHERE s.id = d.id
         )
         SELECT created_at FROM o`,
        [
          id,
          merchantId,
          attractionId,
          idempotencyKey,
          input.channel,
          total,
          currency,
          input.customer?.reference ?? null,
          input.customer?.email ?? null,
          input.customer?.phone ?? null,
          holdExpiresAt,
          status,
          input.couponCode ?? null,
          units.length > 0 ? 'held' : 'none',
          input.items.map((_, i) => i + 1),
          input.items.map((i) => i.productId),
          input.items.map((i) => i.slotId ?? null),
          input.items.map((i) => i.quantity),
          input.items.map((i) => byId.get(i.productId)?.price_value),
          units.map((u) => u.slotId),
          units.map((u) => u.units),
          ...event,
        ],
      ).finally(() => qr.release());
      createdAt = row?.created_at ?? new Date();
    } catch (err) {
      if (idempotencyKey && (isUniqueViolation(err, 'orders_idempotency_uq') || isCheckViolation(err))) {
        // The key's order exists (this is a retry): its answer, whatever else failed with it.
        const found = (await this.ds.query('SELECT id FROM orders WHERE merchant_id = $1 AND idempotency_key = $2', [
          merchantId,
          idempotencyKey,
        ])) as { id: string }[];
        if (found[0]) return { order: await this.get(principal, found[0].id), created: false };
      }
      if (isCheckViolation(err, 'slots_capacity_ck')) {
        const slot = /\(([^,]+),/.exec((err as { detail?: string }).detail ?? '')?.[1] ?? units[0]?.slotId ?? '';
        throw new AdmitError(409, 'SOLD_OUT', 'Not enough capacity left in the slot.', [
          { field: 'items', code: 'SOLD_OUT', message: `slot ${slot} cannot take this many visitors` },
        ]);
      }
      throw err;
    }
    await markOutboxWritten(this.ds.manager);
    if (status === 'pricing') {
      // The coupon saga usually answers within milliseconds; wait a bounded time for it. This
      // process's consumer wakes the request as soon as the answer is committed; the 40 ms poll
      // covers an answer consumed by another replica.
      const end = Date.now() + this.settings.pricingWaitMs;
      while (Date.now() < end) {
        await this.pricing.wait(id, Math.min(40, end - Date.now()));
        const [row] = (await this.ds.query('SELECT status FROM orders WHERE id = $1', [id])) as { status: string }[];
        if (row?.status !== 'pricing') break;
      }
    }
    if (status !== 'pricing') {
      // Nothing else has touched the order yet (no payment can precede this answer): the answer
      // is built from what was just written, as `get` would read it.
      const order = this.toOrder(
        {
          id,
          merchant_id: merchantId,
          attraction_id: attractionId,
          channel: input.channel,
          status,
          total_value: String(total),
          discount_value: '0',
          amount_due_value: String(total),
          currency,
          coupon_code: input.couponCode ?? null,
          customer_reference: input.customer?.reference ?? null,
          hold_expires_at: holdExpiresAt,
          payment_id: null,
          capacity: units.length > 0 ? 'held' : 'none',
          coupon_reason: null,
          flagged_reason: null,
          refunded_value: '0',
          refund_requested_at: null,
          created_at: createdAt,
        },
        input.items.map((i) => ({
          product_id: i.productId,
          slot_id: i.slotId ?? null,
          quantity: i.quantity,
          unit_price_value: String(byId.get(i.productId)?.price_value),
        })),
        [],
      );
      return { order, created: true };
    }
    return { order: await this.get(principal, id), created: true };
  }

  private async orderUnits(m: EntityManager, orderId: string): Promise<SlotUnits> {
    const items = (await m.query('SELECT slot_id, quantity FROM order_items WHERE order_id = $1', [orderId])) as {
      slot_id: string | null;
      quantity: number;
    }[];
    return slotUnits(items.map((i) => ({ slotId: i.slot_id, quantity: i.quantity })));
  }

  /**
   * Closes an open order (expired or cancelled) and releases its held capacity, exactly once:
   * the caller holds the order row lock and the status transition is guarded.
   */
  async close(m: EntityManager, orderId: string, reason: 'expired' | 'cancelled'): Promise<boolean> {
    const [o] = (await m.query('SELECT status, capacity, merchant_id FROM orders WHERE id = $1 FOR UPDATE', [
      orderId,
    ])) as OrderRow[];
    if (!o || !OPEN.includes(o.status as Closable)) return false;
    await m.query(
      `UPDATE orders SET status = $2, updated_at = now(),
              capacity = CASE WHEN capacity = 'held' THEN 'released' ELSE capacity END
        WHERE id = $1 AND status = ANY($3)`,
      [orderId, reason, OPEN],
    );
    if (o.capacity === 'held') {
      for (const u of await this.orderUnits(m, orderId)) {
        await m.query('UPDATE slots SET held = held - $2 WHERE id = $1', [u.slotId, u.units]);
      }
    }
    await appendToOutbox(m, {
      type: 'order.closed',
      aggregateId: orderId,
      merchantId: o.merchant_id,
      payload: { orderId, merchantId: o.merchant_id, reason, closedAt: new Date().toISOString() },
    });
    return true;
  }

  /** `POST /v1/orders/{id}/cancel`: releases held capacity (promotions releases the coupon on order.closed). */
  async cancel(principal: Principal, id: string) {
    await this.get(principal, id);
    await this.ds.transaction(async (m) => {
      const [o] = (await m.query('SELECT status FROM orders WHERE id = $1 FOR UPDATE', [id])) as OrderRow[];
      if (!o) throw AdmitError.notFound('order');
      if (o.status === 'cancelled') return;
      if (!OPEN.includes(o.status as Closable))
        throw new AdmitError(409, 'ORDER_NOT_CANCELLABLE', `The order is ${o.status} and cannot be cancelled.`);
      await this.close(m, id, 'cancelled');
    });
    return this.get(principal, id);
  }

  /**
   * The hold-expiry sweep: expired open orders, locked with SKIP LOCKED (several instances and a
   * restart never process one order twice; the guarded transition makes the release exactly once).
   */
  async expireDue(batch = 200): Promise<number> {
    return this.ds.transaction(async (m) => {
      const due = (await m.query(
        `SELECT id FROM orders WHERE status = ANY($1) AND hold_expires_at <= now()
          ORDER BY hold_expires_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [OPEN, batch],
      )) as { id: string }[];
      let n = 0;
      for (const d of due) if (await this.close(m, d.id, 'expired')) n += 1;
      return n;
    });
  }

  /** Emits `order.refund_requested` (the payment service gives the money back) and flags the order. */
  private async requestRefund(
    m: EntityManager,
    o: OrderRow,
    p: EventPayload<'payment.succeeded'>,
    reason: EventPayload<'order.refund_requested'>['reason'],
    note: string,
  ): Promise<void> {
    await m.query(
      `UPDATE orders SET flagged_reason = $2, refund_requested_at = now(), updated_at = now() WHERE id = $1`,
      [o.id, `${reason}: ${note}`],
    );
    await appendToOutbox(m, {
      type: 'order.refund_requested',
      aggregateId: o.id,
      merchantId: o.merchant_id,
      payload: {
        orderId: o.id,
        merchantId: o.merchant_id,
        paymentId: p.paymentId,
        amount: p.amount,
        reason,
        requestedAt: new Date().toISOString(),
      },
    });
    this.logger.warn({ orderId: o.id, paymentId: p.paymentId, reason }, 'payment flagged; refund requested');
  }

  async get(principal: Principal, id: string) {
    const rows = (await this.ds.query('SELECT * FROM orders WHERE id = $1', [id])) as OrderRow[];
    const o = rows[0];
    if (!o || (principal.scope !== 'acquirer' && o.merchant_id !== principal.merchantId))
      throw AdmitError.notFound('order');
    const items = (await this.ds.query(
      'SELECT product_id, slot_id, quantity, unit_price_value FROM order_items WHERE order_id = $1 ORDER BY line',
      [id],
    )) as ItemRow[];
    const tickets = (await this.ds.query('SELECT * FROM tickets WHERE order_id = $1 ORDER BY id', [id])) as TicketRow[];
    return this.toOrder(o, items, tickets);
  }

  /** The API shape of an order (api-v1.md). */
  private toOrder(o: Omit<OrderRow, 'idempotency_key'>, items: ItemRow[], tickets: TicketRow[]) {
    const money = (v: string) => ({ value: Number(v), currency: o.currency });
    return {
      id: o.id,
      status: o.status,
      channel: o.channel,
      attractionId: o.attraction_id,
      items: items.map((i) => ({
        productId: i.product_id,
        ...(i.slot_id ? { slotId: i.slot_id } : {}),
        quantity: i.quantity,
        unitPrice: money(i.unit_price_value),
      })),
      total: money(o.total_value),
      discount: money(o.discount_value),
      amountDue: money(o.amount_due_value),
      ...(o.coupon_code ? { couponCode: o.coupon_code } : {}),
      ...(o.hold_expires_at && (o.status === 'awaiting_payment' || o.status === 'pricing')
        ? { holdExpiresAt: new Date(o.hold_expires_at).toISOString() }
        : {}),
      ...(o.payment_id ? { paymentId: o.payment_id } : {}),
      ...(o.coupon_reason ? { couponRejection: o.coupon_reason } : {}),
      ...(o.flagged_reason
        ? { flagged: { reason: o.flagged_reason, refundRequested: o.refund_requested_at !== null } }
        : {}),
      tickets: tickets.map((t) => this.toTicket(t)),
      createdAt: new Date(o.created_at).toISOString(),
    };
  }

  /**
   * `payment.succeeded`: in the inbox transaction, lock the order, check the amount, mark it paid,
   * issue one ticket per admission unit, publish `tickets.issued` and `order.fulfilled`. The
   * single-event handler is the set-based one applied to one event.
   */
  async onPaymentSucceeded(p: EventPayload<'payment.succeeded'>, m: EntityManager): Promise<void> {
    await this.onPaymentsSucceeded([p], m);
  }

  /**
   * A run of `payment.succeeded` events in one transaction. Orders are locked in id order; the
   * plain case (the order is open with its capacity held or none, the amount and merchant match,
   * and the order has no other payment in the run) is fulfilled set-based: one slot update per
   * slot, one orders update, one ticket insert and one outbox append for the whole run. Every
   * other payment goes through `settle`, one at a time, in the run's order. The result is that of
   * handling the events one by one: the orders are distinct, and moving held capacity to sold
   * leaves `held + sold`, the quantity a late payment's re-reservation checks, unchanged.
   */
  async onPaymentsSucceeded(ps: EventPayload<'payment.succeeded'>[], m: EntityManager): Promise<void> {
    const perOrder = new Map<string, number>();
    for (const p of ps) perOrder.set(p.orderId, (perOrder.get(p.orderId) ?? 0) + 1);
    const locked = new Map(
      (
        await preparedQuery<LockedOrder>(
          m,
          'ticketing_lock_paid_orders',
          `SELECT id, merchant_id, attraction_id, status, amount_due_value, currency, capacity, customer_reference
             FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE`,
          [[...perOrder.keys()].sort()],
        )
      ).map((o) => [o.id, o]),
    );
    const plain: { o: LockedOrder; p: EventPayload<'payment.succeeded'> }[] = [];
    const unusual: EventPayload<'payment.succeeded'>[] = [];
    for (const p of ps) {
      const o = locked.get(p.orderId);
      if (o && perOrder.get(p.orderId) === 1 && isPlainFulfilment(o, p)) plain.push({ o, p });
      else unusual.push(p);
    }
    await this.fulfil(m, plain);
    for (const p of unusual) await this.settle(p, m);
  }

  /** One payment that may not be plain: unknown order, duplicate, mismatch, closed, or late. */
  private async settle(p: EventPayload<'payment.succeeded'>, m: EntityManager): Promise<void> {
    const rows = (await m.query('SELECT * FROM orders WHERE id = $1 FOR UPDATE', [p.orderId])) as OrderRow[];
    const o = rows[0];
    if (!o) {
      this.logger.warn(
        { orderId: p.orderId, paymentId: p.paymentId },
        'payment for an order ticketing does not know; ignored',
      );
      return;
    }
    if (o.merchant_id !== p.merchantId) {
      this.logger.error(
        { orderId: o.id, paymentId: p.paymentId },
        'payment merchant differs from order merchant; flagged',
      );
      await m.query(`UPDATE orders SET flagged_reason = 'merchant mismatch', updated_at = now() WHERE id = $1`, [o.id]);
      return;
    }
    if (o.status === 'paid' || o.status === 'fulfilled' || o.status === 'refunded') {
      if (o.payment_id === p.paymentId) return;
      await this.requestRefund(m, o, p, 'DUPLICATE_PAYMENT', `order already paid by ${o.payment_id}`);
      return;
    }
    if (p.amount.value !== Number(o.amount_due_value) || p.amount.currency !== o.currency) {
      await this.requestRefund(
        m,
        o,
        p,
        'AMOUNT_MISMATCH',
        `paid ${p.amount.value} ${p.amount.currency}, due ${o.amount_due_value} ${o.currency}`,
      );
      return;
    }
    if (o.status === 'cancelled') {
      await this.requestRefund(m, o, p, 'ORDER_CLOSED', 'payment after the order was cancelled');
      return;
    }
    if (o.capacity === 'released') {
      // Late payment after the hold expired: sell again if the slots still have room.
      const units = await this.orderUnits(m, o.id);
      const done: SlotUnits = [];
      for (const u of units) {
        const r: unknown = await m.query(
          'UPDATE slots SET sold = sold + $2 WHERE id = $1 AND held + sold + $2 <= capacity RETURNING id',
          [u.slotId, u.units],
        );
        if (affected(r) === 0) break;
        done.push(u);
      }
      if (done.length < units.length) {
        for (const u of done) await m.query('UPDATE slots SET sold = sold - $2 WHERE id = $1', [u.slotId, u.units]);
        await this.requestRefund(m, o, p, 'LATE_PAYMENT_SOLD_OUT', 'paid after the hold expired; the slot is full');
        return;
      }
      this.logger.info({ orderId: o.id, paymentId: p.paymentId }, 'late payment re-reserved capacity');
    }
    await this.fulfil(m, [{ o, p }]);
  }

  /**
   * Fulfils paid orders whose row lock the transaction holds: held capacity becomes sold (a
   * released order's capacity was re-reserved by the caller), tickets are issued, the order is
   * `fulfilled`, and `tickets.issued` (when there are tickets) and `order.fulfilled` are appended
   * per order, in the given order.
   */
  private async fulfil(
    m: EntityManager,
    list: { o: LockedOrder; p: EventPayload<'payment.succeeded'> }[],
  ): Promise<void> {
    if (list.length === 0) return;
    const ids = list.map(({ o }) => o.id);
    await preparedQuery(
      m,
      'ticketing_orders_fulfilled',
      `UPDATE orders o SET capacity = CASE WHEN o.capacity = 'none' THEN 'none' ELSE 'sold' END,
              status = 'fulfilled', payment_id = d.payment_id, updated_at = now()
         FROM unnest($1::text[], $2::text[]) AS d(id, payment_id) WHERE o.id = d.id`,
      [ids, list.map(({ p }) => p.paymentId)],
    );
    const attractions = new Map(
      (
        await preparedQuery<Pick<AttractionRow, 'id' | 'city' | 'timezone'>>(
          m,
          'ticketing_fulfil_attractions',
          'SELECT id, city, timezone FROM attractions WHERE id = ANY($1)',
          [[...new Set(list.map(({ o }) => o.attraction_id))]],
        )
      ).map((a) => [a.id, a]),
    );
    const itemsByOrder = new Map<string, FulfilItem[]>();
    for (const item of await preparedQuery<FulfilItem>(
      m,
      'ticketing_fulfil_items',
      `SELECT i.order_id, i.product_id, i.slot_id, i.quantity, p.kind, p.max_entries, p.validity, s.starts_at, s.ends_at
         FROM order_items i JOIN products p ON p.id = i.product_id LEFT JOIN slots s ON s.id = i.slot_id
        WHERE i.order_id = ANY($1) ORDER BY i.order_id, i.line`,
      [ids],
    )) {
      itemsByOrder.set(item.order_id, [...(itemsByOrder.get(item.order_id) ?? []), item]);
    }
    const tickets: (string | number | Date | null)[][] = [[], [], [], [], [], [], [], [], [], []];
    const events: NewEvent<EventType>[] = [];
    for (const { o, p } of list) {
      const attraction = attractions.get(o.attraction_id) as Pick<AttractionRow, 'city' | 'timezone'>;
      const paidAt = new Date(p.paidAt);
      const issued: EventPayload<'tickets.issued'>['tickets'] = [];
      for (const item of itemsByOrder.get(o.id) ?? []) {
        if (item.kind === 'add_on') continue;
        const window = validityWindow(
          paidAt,
          attraction.timezone,
          item.validity === 'slot' && !item.starts_at ? 'day' : item.validity,
          item.starts_at && item.ends_at
            ? { startsAt: new Date(item.starts_at), endsAt: new Date(item.ends_at) }
            : undefined,
        );
        for (let n = 0; n < item.quantity; n += 1) {
          const ticketId = newId('ticket');
          const code = this.signer.issue({
            tid: ticketId,
            att: o.attraction_id,
            nbf: Math.floor(window.from.getTime() / 1000),
            exp: Math.floor(window.to.getTime() / 1000),
            ent: item.max_entries,
          });
          const row = [
            ticketId,
            o.id,
            o.merchant_id,
            o.attraction_id,
            item.product_id,
            item.slot_id,
            code,
            item.max_entries,
            window.from,
            window.to,
          ];
          row.forEach((v, i) => tickets[i]?.push(v));
          issued.push({
            ticketId,
            productId: item.product_id,
            productKind: item.kind,
            slotId: item.slot_id,
            validFrom: window.from.toISOString(),
            validTo: window.to.toISOString(),
            maxEntries: item.max_entries,
          });
        }
      }
      const amountPaid = { value: p.amount.value, currency: p.amount.currency };
      if (issued.length > 0) {
        events.push({
          type: 'tickets.issued',
          aggregateId: o.id,
          merchantId: o.merchant_id,
          payload: {
            orderId: o.id,
            merchantId: o.merchant_id,
            attractionId: o.attraction_id,
            city: attraction.city,
            paymentId: p.paymentId,
            customerReference: o.customer_reference,
            amountPaid,
            tickets: issued,
            issuedAt: new Date().toISOString(),
          },
        });
      }
      events.push({
        type: 'order.fulfilled',
        aggregateId: o.id,
        merchantId: o.merchant_id,
        payload: {
          orderId: o.id,
          merchantId: o.merchant_id,
          attractionId: o.attraction_id,
          paymentId: p.paymentId,
          amountPaid,
          ticketCount: issued.length,
          fulfilledAt: new Date().toISOString(),
        },
      });
    }
    if ((tickets[0]?.length ?? 0) > 0)
      await preparedQuery(
        m,
        'ticketing_issue_tickets',
        `INSERT INTO tickets (id, order_id, merchant_id, attraction_id, product_id, slot_id, code, status, max_entries, entries_left, valid_from, valid_to)
         SELECT t.id, t.order_id, t.merchant_id, t.attraction_id, t.product_id, t.slot_id, t.code, 'valid', t.max_entries, t.max_entries, t.valid_from, t.valid_to
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::timestamptz[], $10::timestamptz[])
             WITH ORDINALITY AS t(id, order_id, merchant_id, attraction_id, product_id, slot_id, code, max_entries, valid_from, valid_to, n)
          ORDER BY t.n`,
        tickets,
      );
    await appendManyToOutbox(m, events);
    // Held → sold last: the slot rows are the hot ones (every buyer of a slot updates its row), so
    // their locks are taken as late as possible and held only until the commit. One update per
    // slot, locked in id order, from the items read above; always within the slot's capacity.
    const units = slotUnits(
      list
        .filter(({ o }) => o.capacity === 'held')
        .flatMap(({ o }) => itemsByOrder.get(o.id) ?? [])
        .map((i) => ({ slotId: i.slot_id, quantity: i.quantity })),
    );
    if (units.length > 1)
      await preparedQuery(m, 'ticketing_lock_slots', 'SELECT id FROM slots WHERE id = ANY($1) ORDER BY id FOR UPDATE', [
        units.map((u) => u.slotId),
      ]);
    if (units.length > 0)
      await preparedQuery(
        m,
        'ticketing_held_to_sold',
        `UPDATE slots s SET held = s.held - d.n, sold = s.sold + d.n
           FROM unnest($1::text[], $2::int[]) AS d(id, n) WHERE s.id = d.id`,
        [units.map((u) => u.slotId), units.map((u) => u.units)],
      );
  }

  /** Coupon saga: the discount is reserved → the amount due is known. */
  async onCouponReserved(p: EventPayload<'coupon.reserved'>, m: EntityManager): Promise<void> {
    const [o] = (await m.query('SELECT * FROM orders WHERE id = $1 FOR UPDATE', [p.orderId])) as OrderRow[];
    if (!o || o.status !== 'pricing') {
      this.logger.info({ orderId: p.orderId, status: o?.status }, 'coupon.reserved for an order not pricing; ignored');
      return;
    }
    const total = Number(o.total_value);
    const discount = p.discount.currency === o.currency ? Math.min(Math.max(0, p.discount.value), total) : 0;
    await m.query(
      `UPDATE orders SET status = 'awaiting_payment', discount_value = $2, amount_due_value = $3, coupon_reason = NULL,
              updated_at = now() WHERE id = $1`,
      [o.id, discount, total - discount],
    );
    afterCommit(m, () => this.pricing.wake(o.id));
  }

  /** Coupon saga: the coupon does not apply → the order stays payable at full price, reason kept. */
  async onCouponRejected(p: EventPayload<'coupon.rejected'>, m: EntityManager): Promise<void> {
    const [o] = (await m.query('SELECT * FROM orders WHERE id = $1 FOR UPDATE', [p.orderId])) as OrderRow[];
    if (!o || o.status !== 'pricing') return;
    await m.query(
      `UPDATE orders SET status = 'awaiting_payment', coupon_reason = $2, updated_at = now() WHERE id = $1`,
      [o.id, p.reason],
    );
    afterCommit(m, () => this.pricing.wake(o.id));
  }

  /**
   * `refund.succeeded` / reversed `payment.cancelled`: void the order's unused tickets (all of them
   * still valid when fully refunded; for a partial refund as many unused tickets as the refunded
   * share of the amount paid covers), publish `ticket.voided` and `order.refunded`.
   */
  async onRefunded(
    r: {
      orderId: string;
      merchantId: string;
      paymentId: string;
      refundId: string;
      amount: EventPayload<'refund.succeeded'>['amount'];
      refundedTotal: EventPayload<'refund.succeeded'>['amount'];
      fullyRefunded: boolean;
      at: string;
    },
    m: EntityManager,
  ): Promise<void> {
    const [o] = (await m.query('SELECT * FROM orders WHERE id = $1 FOR UPDATE', [r.orderId])) as OrderRow[];
    if (!o || o.payment_id !== r.paymentId) {
      // A refund of a flagged payment (never turned into tickets) or of an unknown order.
      if (o) await m.query('UPDATE orders SET refunded_value = $2 WHERE id = $1', [o.id, r.refundedTotal.value]);
      return;
    }
    const tickets = (await m.query(
      `SELECT id, status, entries_left, max_entries FROM tickets WHERE order_id = $1 ORDER BY id FOR UPDATE`,
      [o.id],
    )) as { id: string; status: string; entries_left: number; max_entries: number }[];
    let toVoid: string[];
    if (r.fullyRefunded) {
      toVoid = tickets.filter((t) => t.status === 'valid').map((t) => t.id);
    } else {
      const paid = Number(o.amount_due_value) || 1;
      const covered = Math.min(tickets.length, Math.floor((r.refundedTotal.value * tickets.length) / paid));
      const already = tickets.filter((t) => t.status === 'void').length;
      toVoid = tickets
        .filter((t) => t.status === 'valid' && t.entries_left === t.max_entries)
        .slice(0, Math.max(0, covered - already))
        .map((t) => t.id);
    }
    if (toVoid.length > 0) await m.query(`UPDATE tickets SET status = 'void' WHERE id = ANY($1)`, [toVoid]);
    await m.query(
      `UPDATE orders SET refunded_value = $2, updated_at = now(),
              status = CASE WHEN $3 AND status IN ('paid', 'fulfilled') THEN 'refunded' ELSE status END
        WHERE id = $1`,
      [o.id, r.refundedTotal.value, r.fullyRefunded],
    );
    const now = new Date().toISOString();
    for (const ticketId of toVoid) {
      await appendToOutbox(m, {
        type: 'ticket.voided',
        aggregateId: o.id,
        merchantId: o.merchant_id,
        payload: { ticketId, orderId: o.id, merchantId: o.merchant_id, reason: 'refunded', voidedAt: now },
      });
    }
    await appendToOutbox(m, {
      type: 'order.refunded',
      aggregateId: o.id,
      merchantId: o.merchant_id,
      payload: {
        orderId: o.id,
        merchantId: o.merchant_id,
        paymentId: r.paymentId,
        refundId: r.refundId,
        amount: r.amount,
        refundedTotal: r.refundedTotal,
        fullyRefunded: r.fullyRefunded,
        voidedTicketIds: toVoid,
        refundedAt: r.at,
      },
    });
  }
}

/** Units per slot, summed and sorted by slot id. */
/** A payment `fulfil` can apply set-based: see `onPaymentsSucceeded`. */
function isPlainFulfilment(o: LockedOrder, p: EventPayload<'payment.succeeded'>): boolean {
  return (
    o.merchant_id === p.merchantId &&
    o.status !== 'paid' &&
    o.status !== 'fulfilled' &&
    o.status !== 'refunded' &&
    o.status !== 'cancelled' &&
    p.amount.value === Number(o.amount_due_value) &&
    p.amount.currency === o.currency &&
    (o.capacity === 'held' || o.capacity === 'none')
  );
}

export function slotUnits(items: { slotId: string | null; quantity: number }[]): SlotUnits {
  const sum = new Map<string, number>();
  for (const i of items) if (i.slotId) sum.set(i.slotId, (sum.get(i.slotId) ?? 0) + i.quantity);
  return [...sum.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([slotId, units]) => ({ slotId, units }));
}

/** Rows touched by an UPDATE … RETURNING through TypeORM's postgres driver ([rows, count]). */
export function affected(result: unknown): number {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number')
    return result[1];
  return Array.isArray(result) ? result.length : 0;
}
