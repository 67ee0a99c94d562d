import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Ledger completeness and reconciliation: discounts from `coupon.redeemed`, the wallet-settlement
 * (CNY) side of every payment and refund, the fee a reversal returns, and stored reconciliations.
 */
export class LedgerCompleteness1764316800000 implements MigrationInterface {
  name = 'LedgerCompleteness1764316800000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`CREATE TABLE ledger_discounts (
      coupon_id text NOT NULL,
      order_id text NOT NULL,
      campaign_id text NOT NULL,
      merchant_id text NOT NULL,
      amount_value bigint NOT NULL CHECK (amount_value >= 0),
      currency char(3) NOT NULL,
      redeemed_at timestamptz NOT NULL,
      business_date date,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (coupon_id, order_id)
    )`);
    await qr.query(
      `CREATE INDEX ledger_discounts_pending_idx ON ledger_discounts (merchant_id) WHERE business_date IS NULL`,
    );
    await qr.query(`ALTER TABLE ledger_refunds ADD COLUMN fee_value bigint NOT NULL DEFAULT 0`);
    await qr.query(`ALTER TABLE ledger_refunds ADD COLUMN settlement_value bigint`);
    await qr.query(`CREATE INDEX ledger_refunds_partner_idx ON ledger_refunds (partner_refund_id)`);
    await qr.query(`ALTER TABLE daily_totals ADD COLUMN settlement_currency char(3)`);
    await qr.query(`ALTER TABLE daily_totals ADD COLUMN settlement_gross_value bigint NOT NULL DEFAULT 0`);
    await qr.query(`ALTER TABLE daily_totals ADD COLUMN settlement_refund_value bigint NOT NULL DEFAULT 0`);
    await qr.query(`CREATE TABLE reconciliations (
      id text PRIMARY KEY,
      kind text NOT NULL CHECK (kind IN ('transaction', 'settlement')),
      file_date date NOT NULL,
      partner_id text,
      merchant_ids text[],
      matched int NOT NULL,
      missing_in_ledger int NOT NULL,
      missing_in_wallet int NOT NULL,
      amount_mismatch int NOT NULL,
      fee_mismatch int NOT NULL,
      lines jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`);
    await qr.query(`CREATE INDEX reconciliations_created_idx ON reconciliations (created_at DESC, id DESC)`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`DROP TABLE reconciliations`);
    await qr.query(`ALTER TABLE daily_totals DROP COLUMN settlement_refund_value`);
    await qr.query(`ALTER TABLE daily_totals DROP COLUMN settlement_gross_value`);
    await qr.query(`ALTER TABLE daily_totals DROP COLUMN settlement_currency`);
    await qr.query(`DROP INDEX ledger_refunds_partner_idx`);
    await qr.query(`ALTER TABLE ledger_refunds DROP COLUMN settlement_value`);
    await qr.query(`ALTER TABLE ledger_refunds DROP COLUMN fee_value`);
    await qr.query(`DROP TABLE ledger_discounts`);
  }
}
