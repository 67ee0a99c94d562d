import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import type { HandlerMap } from '@admit/messaging';

/** The distinct product kinds of an order's tickets, sorted: what post-purchase conditions match on. */
export function productKindsOf(tickets: readonly { productKind: string }[]): string[] {
  return [...new Set(tickets.map((t) => t.productKind))].sort();
}

/**
 * The facts promotions reacts to: `tickets.issued` (a completed purchase; the ground truth of
 * post-purchase campaigns) and `order.placed` (an order and the coupon code it carries, for the
 * coupon saga). Each is stored once under its order id.
 */
@Injectable()
export class PurchasesConsumer {
  handlers(): HandlerMap {
    return {
      'tickets.issued': async (p, { manager }) => void (await this.ticketsIssued(manager, p)),
      'order.placed': async (p, { manager }) => void (await this.orderPlaced(manager, p)),
    };
  }

  /** Records the purchase; true when it is new (false for a replay of the same order). */
  async ticketsIssued(m: EntityManager, p: EventPayload<'tickets.issued'>): Promise<boolean> {
    const rows = (await m.query(
      `INSERT INTO purchases (order_id, merchant_id, attraction_id, city, customer_reference, payment_id, amount_value, currency,
                              ticket_count, product_kinds, issued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11)
       ON CONFLICT (order_id) DO NOTHING
       RETURNING order_id`,
      [
        p.orderId,
        p.merchantId,
        p.attractionId,
        p.city,
        p.customerReference,
        p.paymentId,
        p.amountPaid.value,
        p.amountPaid.currency,
        p.tickets.length,
        productKindsOf(p.tickets),
        p.issuedAt,
      ],
    )) as unknown[];
    return rows.length > 0;
  }

  /** Records the order; true when it is new (false for a replay of the same order). */
  async orderPlaced(m: EntityManager, p: EventPayload<'order.placed'>): Promise<boolean> {
    return (await this.ordersPlaced(m, [p])).length > 0;
  }

  /**
   * Records the orders with one statement; returns the new ones, in the given order (a replay of
   * an order already seen, or its second occurrence in `ps`, is left out).
   */
  async ordersPlaced(m: EntityManager, ps: EventPayload<'order.placed'>[]): Promise<EventPayload<'order.placed'>[]> {
    if (ps.length === 0) return [];
    const col = <T>(f: (p: EventPayload<'order.placed'>) => T) => ps.map(f);
    const fresh = new Set(
      (
        (await m.query(
          `INSERT INTO orders_seen (order_id, merchant_id, attraction_id, channel, coupon_code, customer_reference, total_value,
                                    amount_due_value, currency, hold_expires_at, placed_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                                $8::bigint[], $9::text[], $10::timestamptz[], $11::timestamptz[])
           ON CONFLICT (order_id) DO NOTHING
           RETURNING order_id`,
          [
            col((p) => p.orderId),
            col((p) => p.merchantId),
            col((p) => p.attractionId),
            col((p) => p.channel),
            col((p) => p.couponCode),
            col((p) => p.customerReference),
            col((p) => p.total.value),
            col((p) => p.amountDue.value),
            col((p) => p.amountDue.currency),
            col((p) => p.holdExpiresAt),
            col((p) => p.placedAt),
          ],
        )) as { order_id: string }[]
      ).map((r) => r.order_id),
    );
    return ps.filter((p) => fresh.delete(p.orderId));
  }
}
