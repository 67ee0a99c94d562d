import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Timed slots with atomic capacity (held + sold ≤ capacity, enforced by a CHECK as a last line of
 * defence behind the conditional UPDATE), order holds and their release, refund requests and the
 * offline-scan conflict log.
 */
export class SlotsHolds1764489600000 implements MigrationInterface {
  name = 'SlotsHolds1764489600000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`CREATE TABLE slots (
      id text PRIMARY KEY,
      attraction_id text NOT NULL REFERENCES attractions(id),
      merchant_id text NOT NULL,
      starts_at timestamptz NOT NULL,
      ends_at timestamptz NOT NULL,
      capacity int NOT NULL CHECK (capacity >= 0),
      held int NOT NULL DEFAULT 0 CHECK (held >= 0),
      sold int NOT NULL DEFAULT 0 CHECK (sold >= 0),
      product_ids text[],
      created_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT slots_capacity_ck CHECK (held + sold <= capacity),
      CONSTRAINT slots_start_uq UNIQUE (attraction_id, starts_at)
    )`);
    // capacity: 'none' (nothing slot-limited), 'held', 'sold', 'released'.
    await qr.query(`ALTER TABLE orders ADD COLUMN capacity text NOT NULL DEFAULT 'none'
      CHECK (capacity IN ('none', 'held', 'sold', 'released'))`);
    await qr.query(`ALTER TABLE orders ADD COLUMN coupon_reason text`);
    await qr.query(`ALTER TABLE orders ADD COLUMN refund_requested_at timestamptz`);
    await qr.query(`ALTER TABLE orders ADD COLUMN refunded_value bigint NOT NULL DEFAULT 0`);
    await qr.query(
      `CREATE INDEX orders_hold_idx ON orders (hold_expires_at) WHERE status IN ('pricing', 'awaiting_payment')`,
    );
    await qr.query(`CREATE INDEX tickets_void_idx ON tickets (attraction_id) WHERE status = 'void'`);
    await qr.query(`ALTER TABLE scans ADD COLUMN offline boolean NOT NULL DEFAULT false`);
    await qr.query(`CREATE TABLE scan_conflicts (
      id text PRIMARY KEY,
      ticket_id text NOT NULL,
      attraction_id text NOT NULL,
      scan_id text NOT NULL UNIQUE,
      gate_id text NOT NULL,
      scanned_at timestamptz NOT NULL,
      first_gate_id text,
      first_scanned_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE scan_conflicts`);
    await qr.query(`ALTER TABLE scans DROP COLUMN offline`);
    await qr.query(`DROP INDEX tickets_void_idx`);
    await qr.query(`DROP INDEX orders_hold_idx`);
    for (const c of ['refunded_value', 'refund_requested_at', 'coupon_reason', 'capacity'])
      await qr.query(`ALTER TABLE orders DROP COLUMN ${c}`);
    await qr.query(`DROP TABLE slots`);
  }
}
