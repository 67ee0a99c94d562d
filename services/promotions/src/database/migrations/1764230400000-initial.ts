import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '@admit/messaging';
import { API_KEYS_DDL_DOWN, API_KEYS_DDL_UP } from '@admit/service-kit';

/**
 * Promotions: campaigns and their coupons (created by the promotions issue), and the facts the
 * coupon saga and post-purchase campaigns match on — orders placed and purchases (tickets issued),
 * each stored once under its order id.
 */
export class Initial1764230400000 implements MigrationInterface {
  name = 'Initial1764230400000';

  async up(qr: QueryRunner): Promise<void> {
    await createMessagingTables(qr);
    for (const sql of API_KEYS_DDL_UP) await qr.query(sql);
    await qr.query(`CREATE TABLE merchants (
      id text PRIMARY KEY,
      name text NOT NULL,
      country char(2) NOT NULL,
      city text NOT NULL,
      timezone text NOT NULL,
      settlement_currency char(3) NOT NULL,
      onboarded_at timestamptz NOT NULL
    )`);
    await qr.query(`CREATE TABLE campaigns (
      id text PRIMARY KEY,
      merchant_id text NOT NULL,
      name text NOT NULL,
      city text,
      attraction_ids text[] NOT NULL DEFAULT '{}',
      trigger text NOT NULL CHECK (trigger IN ('code', 'post_purchase', 'claim')),
      code text,
      discount jsonb NOT NULL,
      conditions jsonb NOT NULL DEFAULT '{}'::jsonb,
      limits jsonb NOT NULL DEFAULT '{}'::jsonb,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz NOT NULL,
      stacking text NOT NULL CHECK (stacking IN ('exclusive', 'stackable')),
      status text NOT NULL CHECK (status IN ('active', 'paused')),
      redemptions int NOT NULL DEFAULT 0 CHECK (redemptions >= 0),
      budget_used bigint NOT NULL DEFAULT 0 CHECK (budget_used >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CHECK (valid_to > valid_from)
    )`);
    await qr.query(
      `CREATE UNIQUE INDEX campaigns_code_uq ON campaigns (merchant_id, upper(code)) WHERE code IS NOT NULL`,
    );
    await qr.query(`CREATE INDEX campaigns_merchant_idx ON campaigns (merchant_id, id)`);
    await qr.query(`CREATE INDEX campaigns_active_city_idx ON campaigns (lower(city), id) WHERE status = 'active'`);
    await qr.query(`CREATE TABLE coupons (
      id text PRIMARY KEY,
      code text NOT NULL UNIQUE,
      campaign_id text NOT NULL REFERENCES campaigns(id),
      merchant_id text NOT NULL,
      customer_reference text,
      status text NOT NULL CHECK (status IN ('issued', 'reserved', 'redeemed', 'expired', 'void')),
      order_id text,
      valid_to timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX coupons_merchant_customer_idx ON coupons (merchant_id, customer_reference, id)`);
    await qr.query(`CREATE INDEX coupons_campaign_idx ON coupons (campaign_id)`);
    await qr.query(`CREATE TABLE purchases (
      order_id text PRIMARY KEY,
      merchant_id text NOT NULL,
      attraction_id text NOT NULL,
      city text NOT NULL,
      customer_reference text,
      payment_id text NOT NULL,
      amount_value bigint NOT NULL CHECK (amount_value >= 0),
      currency char(3) NOT NULL,
      ticket_count int NOT NULL CHECK (ticket_count >= 0),
      product_kinds text[] NOT NULL,
      issued_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX purchases_merchant_idx ON purchases (merchant_id, order_id)`);
    await qr.query(
      `CREATE INDEX purchases_merchant_customer_idx ON purchases (merchant_id, customer_reference, order_id)`,
    );
    await qr.query(`CREATE TABLE orders_seen (
      order_id text PRIMARY KEY,
      merchant_id text NOT NULL,
      attraction_id text NOT NULL,
      channel text NOT NULL,
      coupon_code text,
      customer_reference text,
      total_value bigint NOT NULL,
      amount_due_value bigint NOT NULL,
      currency char(3) NOT NULL,
      hold_expires_at timestamptz,
      placed_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(
      `CREATE INDEX orders_seen_coupon_idx ON orders_seen (merchant_id, upper(coupon_code)) WHERE coupon_code IS NOT NULL`,
    );
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const table of ['orders_seen', 'purchases', 'coupons', 'campaigns', 'merchants'])
      await qr.query(`DROP TABLE ${table}`);
    for (const sql of API_KEYS_DDL_DOWN) await qr.query(sql);
    await dropMessagingTables(qr);
  }
}
