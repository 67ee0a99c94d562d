import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { newId, type Currency, type EventPayload } from '@admit/contracts';
import { appendToOutbox, type Logger } from '@admit/messaging';
import { AdmitError, isUniqueViolation, LOGGER, type Principal } from '@admit/service-kit';
import { merchantOf, type AttractionRow, type ProductRow } from '../catalog/catalog.service';
import type { TicketingSettings } from '../config';
import { TicketSigner } from '../tickets/ticket-code';
import { validityWindow } from '../tickets/validity';
import type { CreateOrder } from './orders.dto';

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
  created_at: Date;
};
type ItemRow = { product_id: string; slot_id: string | null; quantity: number; unit_price_value: string };
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
    if (idempotencyKey) {
      const found = (await this.ds.query('SELECT id FROM orders WHERE merchant_id = $1 AND idempotency_key = $2', [
        merchantId,
        idempotencyKey,
      ])) as { id: string }[];
      if (found[0]) return { order: await this.get(principal, found[0].id), created: false };
    }
    if (input.couponCode) {
      throw AdmitError.unprocessable('COUPONS_UNAVAILABLE', 'Coupons are not accepted on orders yet.');
    }
    const productIds = [...new Set(input.items.map((i) => i.productId))];
    const products = (await this.ds.query('SELECT * FROM products WHERE id = ANY($1) AND merchant_id = $2', [
      productIds,
      merchantId,
    ])) as ProductRow[];
    const byId = new Map(products.map((p) => [p.id, p]));
    const details = input.items.flatMap((item, i) => {
      const p = byId.get(item.productId);
      if (!p) return [{ field: `items.${i}.productId`, code: 'NOT_FOUND', message: 'No such product.' }];
      if (p.requires_slot || item.slotId)
        return [{ field: `items.${i}.slotId`, code: 'UNSUPPORTED', message: 'Timed slots are not sold yet.' }];
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
    const holdMinutes = this.settings.holdMinutes[input.channel];
    const holdExpiresAt = new Date(Date.now() + holdMinutes * 60_000);
    try {
      await this.ds.transaction(async (m) => {
        await m.query(
          `INSERT INTO orders (id, merchant_id, attraction_id, idempotency_key, channel, status, total_value, discount_value, amount_due_value,
                               currency, customer_reference, customer_email, customer_phone, hold_expires_at)
           VALUES ($1, $2, $3, $4, $5, 'awaiting_payment', $6, 0, $6, $7, $8, $9, $10, $11)`,
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
          ],
        );
        let line = 0;
        for (const item of input.items) {
          line += 1;
          await m.query(
            `INSERT INTO order_items (order_id, line, product_id, slot_id, quantity, unit_price_value) VALUES ($1, $2, $3, $4, $5, $6)`,
            [id, line, item.productId, item.slotId ?? null, item.quantity, byId.get(item.productId)?.price_value],
          );
        }
        await appendToOutbox(m, {
          type: 'order.placed',
          aggregateId: id,
          merchantId,
          payload: {
            orderId: id,
            merchantId,
            attractionId,
            channel: input.channel,
            items: input.items.map((i) => {
              const p = byId.get(i.productId) as ProductRow;
              return {
                productId: p.id,
                productKind: p.kind,
                slotId: i.slotId ?? null,
                quantity: i.quantity,
                unitPrice: { value: Number(p.price_value), currency },
              };
            }),
            total: { value: total, currency },
            amountDue: { value: total, currency },
            couponCode: null,
            customerReference: input.customer?.reference ?? null,
            holdExpiresAt: holdExpiresAt.toISOString(),
            placedAt: new Date().toISOString(),
          },
        });
      });
    } catch (err) {
      if (isUniqueViolation(err, 'orders_idempotency_uq') && idempotencyKey) {
        const found = (await this.ds.query('SELECT id FROM orders WHERE merchant_id = $1 AND idempotency_key = $2', [
          merchantId,
          idempotencyKey,
        ])) as { id: string }[];
        if (found[0]) return { order: await this.get(principal, found[0].id), created: false };
      }
      throw err;
    }
    return { order: await this.get(principal, id), created: true };
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
      tickets: tickets.map((t) => this.toTicket(t)),
      createdAt: new Date(o.created_at).toISOString(),
    };
  }

  /**
   * `payment.succeeded`: in the inbox transaction, lock the order, check the amount, mark it paid,
   * issue one ticket per admission unit, publish `tickets.issued` and `order.fulfilled`.
   */
  async onPaymentSucceeded(p: EventPayload<'payment.succeeded'>, m: EntityManager): Promise<void> {
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
    if (o.status !== 'awaiting_payment') {
      this.logger.warn(
        { orderId: o.id, status: o.status, paymentId: p.paymentId },
        'payment for an order not awaiting payment; flagged',
      );
      await m.query(`UPDATE orders SET flagged_reason = $2, updated_at = now() WHERE id = $1`, [
        o.id,
        `payment ${p.paymentId} while ${o.status}`,
      ]);
      return;
    }
    if (p.amount.value !== Number(o.amount_due_value) || p.amount.currency !== o.currency) {
      await m.query(`UPDATE orders SET flagged_reason = $2, updated_at = now() WHERE id = $1`, [
        o.id,
        `amount ${p.amount.value} ${p.amount.currency} differs from amount due`,
      ]);
      this.logger.error(
        { orderId: o.id, paymentId: p.paymentId },
        'payment amount differs from the amount due; flagged',
      );
      return;
    }
    const attraction = (
      (await m.query('SELECT * FROM attractions WHERE id = $1', [o.attraction_id])) as AttractionRow[]
    )[0] as AttractionRow;
    const items = (await m.query(
      `SELECT i.product_id, i.slot_id, i.quantity, p.kind, p.max_entries, p.validity
         FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.order_id = $1 ORDER BY i.line`,
      [o.id],
    )) as (ItemRow & { kind: ProductRow['kind']; max_entries: number; validity: ProductRow['validity'] })[];
    const paidAt = new Date(p.paidAt);
    const issued: EventPayload<'tickets.issued'>['tickets'] = [];
    for (const item of items) {
      if (item.kind === 'add_on') continue;
      const window = validityWindow(paidAt, attraction.timezone, item.validity);
      for (let n = 0; n < item.quantity; n += 1) {
        const ticketId = newId('ticket');
        const code = this.signer.issue({
          tid: ticketId,
          att: o.attraction_id,
          nbf: Math.floor(window.from.getTime() / 1000),
          exp: Math.floor(window.to.getTime() / 1000),
          ent: item.max_entries,
        });
        await m.query(
          `INSERT INTO tickets (id, order_id, merchant_id, attraction_id, product_id, slot_id, code, status, max_entries, entries_left, valid_from, valid_to)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'valid', $8, $8, $9, $10)`,
          [
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
          ],
        );
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
    await m.query(`UPDATE orders SET status = 'fulfilled', payment_id = $2, updated_at = now() WHERE id = $1`, [
      o.id,
      p.paymentId,
    ]);
    const amountPaid = { value: p.amount.value, currency: p.amount.currency };
    if (issued.length > 0) {
      await appendToOutbox(m, {
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
    await appendToOutbox(m, {
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
}
