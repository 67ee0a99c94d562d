import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '@admit/messaging';
import { API_KEYS_DDL_DOWN, API_KEYS_DDL_UP } from '@admit/service-kit';

/**
 * Reporting's read models. Facts (payments, refunds, tickets, scans) are stored once under their
 * natural key; counters (daily_totals, attraction_occupancy) move only when the fact row was
 * inserted, so even a replayed event cannot count twice. A fact whose merchant's time zone is not
 * known yet keeps `business_date` NULL and is counted when `merchant.onboarded` arrives.
 */
export class Initial1764230400000 implements MigrationInterface {
  name = 'Initial1764230400000';

  async up(qr: QueryRunner): Promise<void> {
    await createMessagingTables(qr);
    for (const sql of API_KEYS_DDL_UP) await qr.query(sql);
    // A row with onboarded_at NULL is a placeholder written by a fact that arrived first; it also
    // serialises that fact with the merchant.onboarded handler (see ledger.consumer.ts).
    await qr.query(`CREATE TABLE merchants (
      id text PRIMARY KEY,
      name text,
      country char(2),
      city text,
      timezone text,
      settlement_currency char(3),
      mcc text,
      onboarded_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE attractions (
      id text PRIMARY KEY,
      merchant_id text NOT NULL,
      name text NOT NULL,
      city text NOT NULL,
      timezone text NOT NULL,
      created_at timestamptz NOT NULL
    )`);
    await qr.query(`CREATE INDEX attractions_merchant_idx ON attractions (merchant_id)`);
    await qr.query(`CREATE TABLE merchant_fee_rates (
      merchant_id text PRIMARY KEY,
      mdr_bps int NOT NULL CHECK (mdr_bps BETWEEN 0 AND 10000),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE TABLE ledger_payments (
      payment_id text PRIMARY KEY,
      merchant_id text NOT NULL,
      order_id text NOT NULL,
      amount_value bigint NOT NULL CHECK (amount_value >= 0),
      currency char(3) NOT NULL,
      paid_at timestamptz NOT NULL,
      business_date date,
      wallet text NOT NULL,
      wallet_transaction_id text NOT NULL,
      partner_trans_id text NOT NULL,
      exchange_rate text,
      settlement_value bigint,
      settlement_currency char(3),
      fee_bps int NOT NULL CHECK (fee_bps BETWEEN 0 AND 10000),
      fee_value bigint NOT NULL CHECK (fee_value >= 0),
      refunded_value bigint NOT NULL DEFAULT 0,
      reversed_at timestamptz,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX ledger_payments_merchant_date_idx ON ledger_payments (merchant_id, business_date)`);
    await qr.query(
      `CREATE INDEX ledger_payments_pending_idx ON ledger_payments (merchant_id) WHERE business_date IS NULL`,
    );
    await qr.query(`CREATE INDEX ledger_payments_wallet_tx_idx ON ledger_payments (wallet_transaction_id)`);
    await qr.query(`CREATE TABLE ledger_refunds (
      refund_id text PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('refund', 'reversal')),
      payment_id text NOT NULL,
      merchant_id text NOT NULL,
      order_id text NOT NULL,
      amount_value bigint NOT NULL CHECK (amount_value >= 0),
      currency char(3) NOT NULL,
      succeeded_at timestamptz NOT NULL,
      business_date date,
      partner_refund_id text,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX ledger_refunds_payment_idx ON ledger_refunds (payment_id)`);
    await qr.query(`CREATE INDEX ledger_refunds_merchant_date_idx ON ledger_refunds (merchant_id, business_date)`);
    await qr.query(
      `CREATE INDEX ledger_refunds_pending_idx ON ledger_refunds (merchant_id) WHERE business_date IS NULL`,
    );
    await qr.query(`CREATE TABLE daily_totals (
      merchant_id text NOT NULL,
      business_date date NOT NULL,
      currency char(3) NOT NULL,
      gross_value bigint NOT NULL DEFAULT 0,
      discount_value bigint NOT NULL DEFAULT 0,
      refund_value bigint NOT NULL DEFAULT 0,
      fee_value bigint NOT NULL DEFAULT 0,
      net_value bigint GENERATED ALWAYS AS (gross_value - discount_value - refund_value - fee_value) STORED,
      payment_count int NOT NULL DEFAULT 0,
      refund_count int NOT NULL DEFAULT 0,
      ticket_count int NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (merchant_id, business_date, currency)
    )`);
    await qr.query(`CREATE INDEX daily_totals_date_idx ON daily_totals (business_date)`);
    await qr.query(`CREATE TABLE tickets (
      ticket_id text PRIMARY KEY,
      order_id text NOT NULL,
      merchant_id text NOT NULL,
      attraction_id text NOT NULL,
      payment_id text NOT NULL,
      product_id text NOT NULL,
      product_kind text NOT NULL,
      slot_id text,
      valid_from timestamptz NOT NULL,
      valid_to timestamptz NOT NULL,
      max_entries int NOT NULL,
      currency char(3) NOT NULL,
      issued_at timestamptz NOT NULL,
      business_date date,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX tickets_order_idx ON tickets (order_id)`);
    await qr.query(`CREATE INDEX tickets_attraction_issued_idx ON tickets (attraction_id, issued_at)`);
    await qr.query(`CREATE INDEX tickets_pending_idx ON tickets (merchant_id) WHERE business_date IS NULL`);
    await qr.query(`CREATE TABLE scans (
      scan_id text PRIMARY KEY,
      ticket_id text,
      order_id text,
      merchant_id text NOT NULL,
      attraction_id text NOT NULL,
      gate_id text NOT NULL,
      direction text NOT NULL CHECK (direction IN ('in', 'out')),
      result text NOT NULL CHECK (result IN ('admitted', 'rejected')),
      reason text,
      scanned_at timestamptz NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX scans_attraction_time_idx ON scans (attraction_id, scanned_at)`);
    await qr.query(`CREATE TABLE attraction_occupancy (
      attraction_id text PRIMARY KEY,
      merchant_id text NOT NULL,
      inside int NOT NULL DEFAULT 0 CHECK (inside >= 0),
      admissions bigint NOT NULL DEFAULT 0,
      exits bigint NOT NULL DEFAULT 0,
      last_scan_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    for (const table of [
      'attraction_occupancy',
      'scans',
      'tickets',
      'daily_totals',
      'ledger_refunds',
      'ledger_payments',
      'merchant_fee_rates',
      'attractions',
      'merchants',
    ]) {
      await qr.query(`DROP TABLE ${table}`);
    }
    for (const sql of API_KEYS_DDL_DOWN) await qr.query(sql);
    await dropMessagingTables(qr);
  }
}
