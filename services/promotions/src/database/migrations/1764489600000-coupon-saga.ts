import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The coupon saga and campaign limits: per-coupon reservation state (the order it is reserved for
 * and the discount counted against the campaign budget), campaign time zone, and attractions as
 * promotions knows them (city and time zone, from `attraction.created`).
 */
export class CouponSaga1764489600000 implements MigrationInterface {
  name = 'CouponSaga1764489600000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE campaigns ADD COLUMN timezone text NOT NULL DEFAULT 'UTC'`);
    await qr.query(`ALTER TABLE coupons ADD COLUMN trigger text NOT NULL DEFAULT 'claim'`);
    await qr.query(`ALTER TABLE coupons ADD COLUMN discount_value bigint`);
    await qr.query(`ALTER TABLE coupons ADD COLUMN discount_currency char(3)`);
    await qr.query(`ALTER TABLE coupons ADD COLUMN source_order_id text`);
    await qr.query(`ALTER TABLE coupons ADD COLUMN reserved_at timestamptz`);
    await qr.query(`ALTER TABLE coupons ADD COLUMN redeemed_at timestamptz`);
    await qr.query(`ALTER TABLE coupons ADD COLUMN released_at timestamptz`);
    // One live coupon per order (a reservation answer is given once per order).
    await qr.query(
      `CREATE UNIQUE INDEX coupons_order_uq ON coupons (order_id) WHERE order_id IS NOT NULL AND status IN ('reserved', 'redeemed')`,
    );
    await qr.query(`CREATE INDEX coupons_campaign_customer_idx ON coupons (campaign_id, customer_reference)`);
    // A post-purchase campaign issues at most one coupon per purchase.
    await qr.query(
      `CREATE UNIQUE INDEX coupons_source_order_uq ON coupons (campaign_id, source_order_id) WHERE source_order_id IS NOT NULL`,
    );
    await qr.query(`CREATE TABLE attractions (
      id text PRIMARY KEY,
      merchant_id text NOT NULL,
      city text NOT NULL,
      timezone text NOT NULL
    )`);
    await qr.query(`CREATE TABLE coupon_answers (
      order_id text PRIMARY KEY,
      outcome text NOT NULL CHECK (outcome IN ('reserved', 'rejected')),
      coupon_id text,
      reason text,
      answered_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE coupon_answers`);
    await qr.query(`DROP TABLE attractions`);
    await qr.query(`DROP INDEX coupons_source_order_uq`);
    await qr.query(`DROP INDEX coupons_campaign_customer_idx`);
    await qr.query(`DROP INDEX coupons_order_uq`);
    for (const c of [
      'released_at',
      'redeemed_at',
      'reserved_at',
      'source_order_id',
      'discount_currency',
      'discount_value',
      'trigger',
    ])
      await qr.query(`ALTER TABLE coupons DROP COLUMN ${c}`);
    await qr.query(`ALTER TABLE campaigns DROP COLUMN timezone`);
  }
}
