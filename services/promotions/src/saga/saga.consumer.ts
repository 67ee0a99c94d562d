import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import type { BatchHandlerMap, HandlerMap } from '@admit/messaging';
import {
  issueAfterPurchase,
  redeemForOrder,
  redeemForOrders,
  releaseForOrder,
  reserveForOrder,
  reserveForOrders,
} from '../coupons/engine';
import { PurchasesConsumer } from '../purchases/purchases.consumer';

/**
 * Promotions' side of the coupon saga, each step inside the inbox transaction of the consumed
 * event (state change and answer commit together, or neither):
 * - `order.placed` with a code → reserve → `coupon.reserved` / `coupon.rejected` (once per order);
 * - `order.fulfilled` → `coupon.redeemed`;
 * - `order.closed` (cancelled | expired) → `coupon.released`, limits and budget restored;
 * - `order.refunded`, fully → the redeemed coupon is released (`reason: refunded`);
 *   partially → it stays redeemed;
 * - `tickets.issued` → post-purchase campaigns issue coupons (`coupon.issued`).
 */
@Injectable()
export class SagaConsumer {
  private readonly facts = new PurchasesConsumer();

  handlers(): HandlerMap {
    return {
      'order.placed': (p, { manager }) => this.orderPlaced(manager, p),
      'order.fulfilled': (p, { manager }) => redeemForOrder(manager, p.orderId),
      'order.closed': (p, { manager }) => releaseForOrder(manager, p.orderId, 'reserved', p.reason),
      'order.refunded': (p, { manager }) => this.orderRefunded(manager, p),
      'tickets.issued': (p, { manager }) => this.ticketsIssued(manager, p),
      'attraction.created': (p, { manager }) => this.attractionCreated(manager, p),
    };
  }

  /** Paid orders arrive in bursts: their coupons are redeemed with one statement per chunk run. */
  batchHandlers(): BatchHandlerMap {
    return {
      // Orders with a code arrive in bursts too: recorded with one statement, reserved together.
      'order.placed': async (events, { manager }) =>
        reserveForOrders(
          manager,
          await this.facts.ordersPlaced(
            manager,
            events.map((e) => e.payload),
          ),
        ),
      'order.fulfilled': (events, { manager }) =>
        redeemForOrders(
          manager,
          events.map((e) => e.payload.orderId),
        ),
    };
  }

  async orderPlaced(m: EntityManager, p: EventPayload<'order.placed'>): Promise<void> {
    // The order row is the "answered once" guard: a re-delivered order.placed (new event id,
    // same order) records nothing and answers nothing again.
    if (await this.facts.orderPlaced(m, p)) await reserveForOrder(m, p);
  }

  async orderRefunded(m: EntityManager, p: EventPayload<'order.refunded'>): Promise<void> {
    if (p.fullyRefunded) await releaseForOrder(m, p.orderId, 'redeemed', 'refunded');
  }

  async ticketsIssued(m: EntityManager, p: EventPayload<'tickets.issued'>): Promise<void> {
    if (await this.facts.ticketsIssued(m, p)) await issueAfterPurchase(m, p);
  }

  async attractionCreated(m: EntityManager, p: EventPayload<'attraction.created'>): Promise<void> {
    await m.query(
      `INSERT INTO attractions (id, merchant_id, city, timezone) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
      [p.attractionId, p.merchantId, p.city, p.timezone],
    );
  }
}
