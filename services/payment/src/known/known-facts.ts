import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import type { EventPayload } from '@admit/contracts';
import type { PaymentSettings } from '../config';
import { PAYMENT_SETTINGS } from '../tokens';

/** How often a waiting request looks again for an order or attraction not known yet. */
export const KNOWN_POLL_MS = 50;

export type KnownOrder = {
  order_id: string;
  merchant_id: string;
  amount_due: string;
  currency: string;
  status: 'open' | 'closed';
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The payment service's projection of ticketing's orders and attractions (tables `orders_known`
 * and `attractions_known`), fed by the consumer in the inbox transaction of each event.
 *
 * The projection lags the event by a moment: a POS may pay right after placing the order. A
 * lookup therefore waits up to `orderWaitMs` (PAYMENT_ORDER_WAIT_MS), polling, for the row to
 * appear. Lookups are always scoped to the caller's merchant, so another merchant's order or
 * attraction looks exactly like (and takes as long to answer as) one that does not exist.
 */
@Injectable()
export class KnownFacts {
  constructor(
    @Inject('DATA_SOURCE') private readonly ds: DataSource,
    @Inject(PAYMENT_SETTINGS) private readonly settings: PaymentSettings,
  ) {}

  async onOrderPlaced(p: EventPayload<'order.placed'>, m: EntityManager): Promise<void> {
    await m.query(
      `INSERT INTO orders_known (order_id, merchant_id, amount_due, currency, status, updated_at)
       VALUES ($1, $2, $3, $4, 'open', now())
       ON CONFLICT (order_id) DO NOTHING`,
      [p.orderId, p.merchantId, p.amountDue.value, p.amountDue.currency],
    );
  }

  async onOrderClosed(p: EventPayload<'order.closed'>, m: EntityManager): Promise<void> {
    // Same partition as its order.placed (key = order id), so the row exists; if not, nothing to close.
    await m.query(`UPDATE orders_known SET status = 'closed', updated_at = now() WHERE order_id = $1`, [p.orderId]);
  }

  async onAttractionCreated(p: EventPayload<'attraction.created'>, m: EntityManager): Promise<void> {
    await m.query(
      `INSERT INTO attractions_known (attraction_id, merchant_id) VALUES ($1, $2) ON CONFLICT (attraction_id) DO NOTHING`,
      [p.attractionId, p.merchantId],
    );
  }

  /** The merchant's order, waiting for it to become known; null = unknown or another merchant's. */
  async orderOf(merchantId: string, orderId: string): Promise<KnownOrder | null> {
    return this.waitFor(async () => {
      const rows = (await this.ds.query(
        `SELECT order_id, merchant_id, amount_due, currency, status FROM orders_known WHERE order_id = $1 AND merchant_id = $2`,
        [orderId, merchantId],
      )) as KnownOrder[];
      return rows[0] ?? null;
    });
  }

  /** Whether the attraction is the merchant's, waiting for it to become known. */
  async ownsAttraction(merchantId: string, attractionId: string): Promise<boolean> {
    const found = await this.waitFor(async () => {
      const rows = (await this.ds.query(
        'SELECT 1 AS ok FROM attractions_known WHERE attraction_id = $1 AND merchant_id = $2',
        [attractionId, merchantId],
      )) as { ok: number }[];
      return rows[0] ? true : null;
    });
    return found === true;
  }

  private async waitFor<T>(look: () => Promise<T | null>): Promise<T | null> {
    const deadline = Date.now() + this.settings.orderWaitMs;
    for (;;) {
      const found = await look();
      if (found !== null) return found;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await sleep(Math.min(KNOWN_POLL_MS, left));
    }
  }
}
