import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '@admit/messaging';
import { API_KEYS_DDL_DOWN, API_KEYS_DDL_UP } from '@admit/service-kit';

export class Initial1764144000000 implements MigrationInterface {
  name = 'Initial1764144000000';

  async up(qr: QueryRunner): Promise<void> {
    await createMessagingTables(qr);
    for (const sql of API_KEYS_DDL_UP) await qr.query(sql);
    await qr.query(`CREATE TABLE attractions (
      id text PRIMARY KEY,
      merchant_id text NOT NULL,
      name text NOT NULL,
      city text NOT NULL,
      timezone text NOT NULL,
      address text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX attractions_merchant_idx ON attractions (merchant_id, id)`);
    await qr.query(`CREATE TABLE products (
      id text PRIMARY KEY,
      attraction_id text NOT NULL REFERENCES attractions(id),
      merchant_id text NOT NULL,
      name text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('admission', 'restaurant', 'add_on')),
      price_value bigint NOT NULL CHECK (price_value >= 0),
      currency char(3) NOT NULL,
      max_entries int NOT NULL CHECK (max_entries >= 1),
      validity jsonb NOT NULL,
      requires_slot boolean NOT NULL DEFAULT false,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE orders (
      id text PRIMARY KEY,
      merchant_id text NOT NULL,
      attraction_id text NOT NULL REFERENCES attractions(id),
      idempotency_key text,
      channel text NOT NULL CHECK (channel IN ('counter', 'online')),
      status text NOT NULL CHECK (status IN ('pricing', 'awaiting_payment', 'paid', 'fulfilled', 'expired', 'cancelled', 'refunded')),
      total_value bigint NOT NULL,
      discount_value bigint NOT NULL DEFAULT 0,
      amount_due_value bigint NOT NULL,
      currency char(3) NOT NULL,
      coupon_code text,
      customer_reference text,
      customer_email text,
      customer_phone text,
      hold_expires_at timestamptz,
      payment_id text,
      flagged_reason text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT orders_idempotency_uq UNIQUE (merchant_id, idempotency_key)
    )`);
    await qr.query(`CREATE INDEX orders_merchant_idx ON orders (merchant_id, id)`);
    await qr.query(`CREATE TABLE order_items (
      order_id text NOT NULL REFERENCES orders(id),
      line int NOT NULL,
      product_id text NOT NULL REFERENCES products(id),
      slot_id text,
      quantity int NOT NULL CHECK (quantity > 0),
      unit_price_value bigint NOT NULL,
      PRIMARY KEY (order_id, line)
    )`);
    await qr.query(`CREATE TABLE tickets (
      id text PRIMARY KEY,
      order_id text NOT NULL REFERENCES orders(id),
      merchant_id text NOT NULL,
      attraction_id text NOT NULL,
      product_id text NOT NULL,
      slot_id text,
      code text NOT NULL UNIQUE,
      status text NOT NULL CHECK (status IN ('valid', 'used', 'void')),
      max_entries int NOT NULL,
      entries_left int NOT NULL CHECK (entries_left >= 0),
      inside boolean NOT NULL DEFAULT false,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX tickets_order_idx ON tickets (order_id)`);
    await qr.query(`CREATE TABLE scans (
      id text PRIMARY KEY,
      ticket_id text,
      attraction_id text NOT NULL,
      gate_key_id text NOT NULL,
      gate_id text NOT NULL,
      direction text NOT NULL CHECK (direction IN ('in', 'out')),
      result text NOT NULL CHECK (result IN ('admitted', 'rejected')),
      reason text,
      nonce text,
      response jsonb NOT NULL,
      scanned_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT scans_nonce_uq UNIQUE (gate_key_id, nonce)
    )`);
    await qr.query(`CREATE INDEX scans_ticket_idx ON scans (ticket_id, scanned_at) WHERE result = 'admitted'`);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const t of ['scans', 'tickets', 'order_items', 'orders', 'products', 'attractions'])
      await qr.query(`DROP TABLE ${t}`);
    for (const sql of API_KEYS_DDL_DOWN) await qr.query(sql);
    await dropMessagingTables(qr);
  }
}
