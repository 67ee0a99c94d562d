import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The resolver's state, refunds and wallet notifications.
 *
 * payments gains the work-queue columns of the resolver (the state lives in the database, so a
 * restarted or second replica resumes every unfinished payment):
 * - `next_attempt_at`: when the resolver should look at the row next; NULL = nothing to do.
 *   A claim moves it into the future (a lease) and sets `claim_token`; the claimer's later
 *   writes are guarded by that token, so a stale worker whose lease expired changes nothing.
 * - `resolve_phase`: `query` (polling overseas.query), `cancel` (acquire.cancel until the
 *   wallet confirms) or `alarm` (the wallet refused or kept failing the cancel: manual review).
 * - `attempts`: wallet calls made in the current phase.
 * - `cancel_reason`: why the cancel phase was entered (`timeout` = the query window ended,
 *   `merchant` = POST /v1/payments/{id}/cancel).
 * - `correlation_id`: the flow of the request that created the payment, so the events the
 *   resolver publishes later stay in that flow.
 */
export class ResolverRefundsNotifications1764403200000 implements MigrationInterface {
  name = 'ResolverRefundsNotifications1764403200000';

  async up(qr: QueryRunner): Promise<void> {
    await qr.query(`ALTER TABLE payments
      ADD COLUMN next_attempt_at timestamptz,
      ADD COLUMN claim_token uuid,
      ADD COLUMN attempts int NOT NULL DEFAULT 0,
      ADD COLUMN resolve_phase text CHECK (resolve_phase IN ('query', 'cancel', 'alarm')),
      ADD COLUMN cancel_reason text CHECK (cancel_reason IN ('timeout', 'merchant')),
      ADD COLUMN cancel_requested_at timestamptz,
      ADD COLUMN cancel_failure_code text,
      ADD COLUMN cancel_failure_message text,
      ADD COLUMN alarm_reason text,
      ADD COLUMN alarmed_at timestamptz,
      ADD COLUMN reversed boolean NOT NULL DEFAULT false,
      ADD COLUMN cancelled_at timestamptz,
      ADD COLUMN failed_at timestamptz,
      ADD COLUMN resolved_by text CHECK (resolved_by IN ('sync', 'query', 'notification', 'cancel')),
      ADD COLUMN correlation_id text`);
    // Payments left processing by an earlier version are handed to the resolver.
    await qr.query(`UPDATE payments SET resolve_phase = 'query', next_attempt_at = now() WHERE status = 'processing'`);
    await qr.query(`CREATE INDEX payments_due_idx ON payments (next_attempt_at) WHERE next_attempt_at IS NOT NULL`);

    await qr.query(`CREATE TABLE refunds (
      id text PRIMARY KEY,
      payment_id text NOT NULL REFERENCES payments(id),
      merchant_id text NOT NULL REFERENCES merchants(id),
      order_id text NOT NULL,
      partner_refund_id text NOT NULL UNIQUE,
      idempotency_key text,
      status text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
      amount_value bigint NOT NULL CHECK (amount_value > 0),
      currency char(3) NOT NULL,
      reason text,
      failure_code text,
      failure_message text,
      wallet_transaction_id text,
      exchange_rate text,
      settlement_value bigint,
      settlement_currency char(3),
      next_attempt_at timestamptz,
      claim_token uuid,
      attempts int NOT NULL DEFAULT 0,
      alarmed_at timestamptz,
      correlation_id text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      succeeded_at timestamptz,
      failed_at timestamptz,
      CONSTRAINT refunds_idempotency_uq UNIQUE (merchant_id, idempotency_key)
    )`);
    await qr.query(`CREATE INDEX refunds_payment_idx ON refunds (payment_id)`);
    await qr.query(`CREATE INDEX refunds_due_idx ON refunds (next_attempt_at) WHERE next_attempt_at IS NOT NULL`);

    // One row per wallet notification (notify_id stays the same across the wallet's resends).
    await qr.query(`CREATE TABLE wallet_notifications (
      wallet text NOT NULL,
      notify_id text NOT NULL,
      partner_trans_id text NOT NULL,
      action text,
      trade_status text,
      fields jsonb NOT NULL,
      deliveries int NOT NULL DEFAULT 1,
      received_at timestamptz NOT NULL DEFAULT now(),
      processed_at timestamptz,
      outcome text,
      PRIMARY KEY (wallet, notify_id)
    )`);
    await qr.query(`CREATE INDEX wallet_notifications_trans_idx ON wallet_notifications (partner_trans_id)`);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query('DROP TABLE wallet_notifications');
    await qr.query('DROP TABLE refunds');
    await qr.query('DROP INDEX payments_due_idx');
    await qr.query(`ALTER TABLE payments
      DROP COLUMN next_attempt_at, DROP COLUMN claim_token, DROP COLUMN attempts, DROP COLUMN resolve_phase,
      DROP COLUMN cancel_reason, DROP COLUMN cancel_requested_at, DROP COLUMN cancel_failure_code,
      DROP COLUMN cancel_failure_message, DROP COLUMN alarm_reason, DROP COLUMN alarmed_at, DROP COLUMN reversed,
      DROP COLUMN cancelled_at, DROP COLUMN failed_at, DROP COLUMN resolved_by, DROP COLUMN correlation_id`);
  }
}
