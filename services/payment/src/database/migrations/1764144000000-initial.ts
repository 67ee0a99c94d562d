import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '@admit/messaging';
import { API_KEYS_DDL_DOWN, API_KEYS_DDL_UP } from '@admit/service-kit';

export class Initial1764144000000 implements MigrationInterface {
  name = 'Initial1764144000000';

  async up(qr: QueryRunner): Promise<void> {
    await createMessagingTables(qr);
    for (const sql of API_KEYS_DDL_UP) await qr.query(sql);
    await qr.query(`CREATE TABLE merchants (
      id text PRIMARY KEY,
      name text NOT NULL,
      country char(2) NOT NULL,
      city text NOT NULL,
      timezone text NOT NULL,
      mcc char(4) NOT NULL,
      settlement_currency char(3) NOT NULL,
      wallet_registration text NOT NULL DEFAULT 'pending' CHECK (wallet_registration IN ('pending', 'registered', 'failed')),
      wallet_registration_error text,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE payments (
      id text PRIMARY KEY,
      merchant_id text NOT NULL REFERENCES merchants(id),
      order_id text NOT NULL,
      idempotency_key text,
      partner_trans_id text NOT NULL UNIQUE,
      status text NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed', 'cancelled')),
      amount_value bigint NOT NULL CHECK (amount_value > 0),
      currency char(3) NOT NULL,
      payment_code_last4 char(4) NOT NULL,
      description text,
      store_id text,
      wallet text NOT NULL,
      wallet_transaction_id text,
      paid_at timestamptz,
      failure_code text,
      failure_message text,
      exchange_rate text,
      settlement_value bigint,
      settlement_currency char(3),
      refunded_value bigint NOT NULL DEFAULT 0 CHECK (refunded_value >= 0 AND refunded_value <= amount_value),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT payments_idempotency_uq UNIQUE (merchant_id, idempotency_key)
    )`);
    // At most one payment per order may be in flight or succeeded: the final guard against double charge.
    await qr.query(
      `CREATE UNIQUE INDEX payments_one_live_per_order_uq ON payments (order_id) WHERE status IN ('processing', 'succeeded')`,
    );
    await qr.query(`CREATE INDEX payments_merchant_created_idx ON payments (merchant_id, id)`);
    await qr.query(`CREATE INDEX payments_processing_idx ON payments (created_at) WHERE status = 'processing'`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query('DROP TABLE payments');
    await qr.query('DROP TABLE merchants');
    for (const sql of API_KEYS_DDL_DOWN) await qr.query(sql);
    await dropMessagingTables(qr);
  }
}
