import { Client, type Pool, type PoolClient } from 'pg';

/**
 * The sandbox's own PostgreSQL database. It is created when missing, and its tables are created
 * by the idempotent migrations below, applied in order under an advisory lock, so several sandbox
 * processes (or test workers) can start against the same database at once.
 */

type Migration = { id: string; sql: string };

export const SANDBOX_MIGRATIONS: readonly Migration[] = [
  {
    id: '001_initial',
    sql: `
      CREATE TABLE IF NOT EXISTS sandbox_trade (
        partner_id text NOT NULL,
        partner_trans_id text NOT NULL,
        alipay_trans_id text NOT NULL UNIQUE,
        behaviour text NOT NULL,
        status text NOT NULL CHECK (status IN ('WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_CLOSED')),
        fail_code text,
        buyer_identity_code text,
        buyer_user_id text,
        buyer_login_id text,
        currency text NOT NULL,
        amount_minor bigint NOT NULL,
        trans_name text NOT NULL DEFAULT '',
        exchange_rate text,
        amount_cny_minor bigint,
        fee_minor bigint NOT NULL DEFAULT 0,
        secondary_merchant_id text,
        secondary_merchant_name text,
        secondary_merchant_industry text,
        store_id text,
        store_name text,
        notify_url text,
        created_at timestamptz NOT NULL,
        confirm_at timestamptz,
        paid_at timestamptz,
        closed_at timestamptz,
        close_action text CHECK (close_action IN ('close', 'refund', 'refunded')),
        reversal_type text CHECK (reversal_type IN ('CANCEL', 'REVERSAL')),
        refunded_minor bigint NOT NULL DEFAULT 0,
        answered_success boolean NOT NULL DEFAULT false,
        pay_calls integer NOT NULL DEFAULT 0,
        PRIMARY KEY (partner_id, partner_trans_id)
      );
      CREATE INDEX IF NOT EXISTS sandbox_trade_confirm_idx ON sandbox_trade (confirm_at) WHERE status = 'WAIT_BUYER_PAY' AND confirm_at IS NOT NULL;
      CREATE INDEX IF NOT EXISTS sandbox_trade_paid_idx ON sandbox_trade (partner_id, paid_at);
      CREATE INDEX IF NOT EXISTS sandbox_trade_closed_idx ON sandbox_trade (partner_id, closed_at);
      CREATE INDEX IF NOT EXISTS sandbox_trade_created_idx ON sandbox_trade (partner_id, created_at);

      CREATE TABLE IF NOT EXISTS sandbox_refund (
        partner_id text NOT NULL,
        partner_refund_id text NOT NULL,
        partner_trans_id text NOT NULL,
        alipay_trans_id text NOT NULL,
        currency text NOT NULL,
        amount_minor bigint NOT NULL CHECK (amount_minor > 0),
        amount_cny_minor bigint,
        exchange_rate text,
        reason text,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (partner_id, partner_refund_id),
        FOREIGN KEY (partner_id, partner_trans_id) REFERENCES sandbox_trade (partner_id, partner_trans_id)
      );
      CREATE INDEX IF NOT EXISTS sandbox_refund_created_idx ON sandbox_refund (partner_id, created_at);

      CREATE TABLE IF NOT EXISTS sandbox_secondary_merchant (
        partner_id text NOT NULL,
        secondary_merchant_id text NOT NULL,
        store_id text NOT NULL,
        secondary_merchant_name text NOT NULL,
        store_name text,
        store_industry text,
        fields jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (partner_id, secondary_merchant_id, store_id)
      );

      CREATE TABLE IF NOT EXISTS sandbox_notification (
        id bigserial PRIMARY KEY,
        notify_id text NOT NULL UNIQUE,
        partner_id text NOT NULL,
        partner_trans_id text NOT NULL,
        url text NOT NULL,
        form jsonb NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        last_attempt_at timestamptz,
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX IF NOT EXISTS sandbox_notification_due_idx ON sandbox_notification (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX IF NOT EXISTS sandbox_notification_trade_idx ON sandbox_notification (partner_id, partner_trans_id);
    `,
  },
];

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function pgErrorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code: unknown = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Creates the database named in `databaseUrl` when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (name === '') throw new Error('SANDBOX_DATABASE_URL must name a database');
  const probe = new Client({ connectionString: databaseUrl });
  try {
    await probe.connect();
    await probe.end();
    return;
  } catch (err) {
    await probe.end().catch(() => undefined);
    if (pgErrorCode(err) !== '3D000') throw err; // 3D000 = invalid_catalog_name (no such database)
  }
  const adminUrl = new URL(databaseUrl);
  adminUrl.pathname = '/postgres';
  const admin = new Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (err) {
    const code = pgErrorCode(err);
    // 42P04 duplicate_database, 23505 unique_violation: another process created it meanwhile.
    if (code !== '42P04' && code !== '23505') throw err;
  } finally {
    await admin.end();
  }
}

/** Applies the missing migrations; returns the ids it applied. */
export async function migrate(pool: Pool): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('admit-wallet-sandbox-migrations'))`);
    await client.query(
      'CREATE TABLE IF NOT EXISTS sandbox_schema_migration (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = await client.query<{ id: string }>('SELECT id FROM sandbox_schema_migration');
    const doneIds = new Set(done.rows.map((r) => r.id));
    for (const migration of SANDBOX_MIGRATIONS) {
      if (doneIds.has(migration.id)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO sandbox_schema_migration (id) VALUES ($1)', [migration.id]);
      applied.push(migration.id);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  return applied;
}

/** Runs `work` in a transaction. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
