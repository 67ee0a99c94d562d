import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Local projections of ticketing's facts, fed by the consumer (order.placed / order.closed on
 * `orders`, attraction.created on `catalog`), so a payment or a gate key can be checked against
 * the order or attraction it names without a synchronous call to another service.
 *
 * - `orders_known`: one row per order placed; `status` becomes `closed` on order.closed (a late
 *   payment of a closed order is still accepted: ticketing re-reserves or refunds it).
 *   `amount_due` is informational only: coupons change what is due after the order is placed.
 * - `attractions_known`: which merchant owns each attraction (gate keys).
 */
export class KnownOrdersAttractions1764576000000 implements MigrationInterface {
  name = 'KnownOrdersAttractions1764576000000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`CREATE TABLE orders_known (
      order_id text PRIMARY KEY,
      merchant_id text NOT NULL,
      amount_due bigint NOT NULL,
      currency char(3) NOT NULL,
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE attractions_known (
      attraction_id text PRIMARY KEY,
      merchant_id text NOT NULL
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query('DROP TABLE attractions_known');
    await qr.query('DROP TABLE orders_known');
  }
}
