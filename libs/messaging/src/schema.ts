import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * DDL of the messaging tables every service database carries. Services include
 * `createMessagingTables` in their first migration (migrations, never synchronize).
 *
 * outbox: events waiting for the relay, written in the same transaction as the state change.
 *   The relay deletes a row once the broker has acknowledged it (ADR 0008); `published_at` and
 *   its index only serve rows marked by relays of earlier releases, which housekeeping deletes.
 *   Rows the broker rejected for good stay, with `abandoned_at` and `last_error`.
 *   (The first version had a trigger that NOTIFYed the relay at commit; it serialized every
 *   commit of the database and is dropped by `MessagingOutboxSignal1764748800000`: the relay
 *   is now woken in process after the commit, see outbox-signal.ts.)
 * inbox: one row per (consumer group, event id) written in the same transaction as the
 *   handler's effects; a redelivered event finds its row and has no second effect.
 */
export const MESSAGING_DDL_UP = [
  `CREATE TABLE outbox (
     id bigserial PRIMARY KEY,
     event_id uuid,
     topic text NOT NULL,
     message_key text NOT NULL,
     value text NOT NULL,
     headers jsonb NOT NULL DEFAULT '{}'::jsonb,
     created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     published_at timestamptz,
     attempts int NOT NULL DEFAULT 0,
     last_error text,
     abandoned_at timestamptz
   )`,
  `CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL AND abandoned_at IS NULL`,
  `CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL`,
  `CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN PERFORM pg_notify('outbox_ready', ''); RETURN NULL; END $$`,
  `CREATE TRIGGER outbox_notify_trg AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()`,
  `CREATE TABLE inbox (
     consumer_group text NOT NULL,
     event_id uuid NOT NULL,
     event_type text NOT NULL,
     topic text NOT NULL,
     kafka_partition int NOT NULL,
     kafka_offset bigint NOT NULL,
     status text NOT NULL CHECK (status IN ('processed', 'dead_lettered')),
     attempts int NOT NULL DEFAULT 1,
     error text,
     processed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     PRIMARY KEY (consumer_group, event_id)
   )`,
];

export const MESSAGING_DDL_DOWN = [
  'DROP TABLE inbox',
  'DROP TRIGGER IF EXISTS outbox_notify_trg ON outbox',
  'DROP FUNCTION IF EXISTS outbox_notify()',
  'DROP TABLE outbox',
];

export async function createMessagingTables(qr: QueryRunner): Promise<void> {
  for (const sql of MESSAGING_DDL_UP) await qr.query(sql);
}

export async function dropMessagingTables(qr: QueryRunner): Promise<void> {
  for (const sql of MESSAGING_DDL_DOWN) await qr.query(sql);
}

/**
 * Drops the outbox NOTIFY trigger (a NOTIFY inside a transaction holds a database-wide lock
 * through the commit's WAL flush, so all writers committed one at a time; ADR 0006). Every
 * service lists this migration after its initial one; tests and benchmarks that build the
 * tables themselves call `createMessagingTables` and then `upgradeMessagingTables`.
 */
export class MessagingOutboxSignal1764748800000 implements MigrationInterface {
  name = 'MessagingOutboxSignal1764748800000';

  async up(qr: QueryRunner): Promise<void> {
    await dropOutboxNotifyTrigger(qr);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query(`CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify('outbox_ready', ''); RETURN NULL; END $$`);
    await qr.query(
      'CREATE TRIGGER outbox_notify_trg AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()',
    );
  }
}

/** Brings tables made by `createMessagingTables` to the current version (tests, benchmarks). */
export async function upgradeMessagingTables(qr: QueryRunner): Promise<void> {
  await dropOutboxNotifyTrigger(qr);
  for (const sql of PUBLISHED_LOG_UP) await qr.query(sql);
}

async function dropOutboxNotifyTrigger(qr: QueryRunner): Promise<void> {
  await qr.query('DROP TRIGGER IF EXISTS outbox_notify_trg ON outbox');
  await qr.query('DROP FUNCTION IF EXISTS outbox_notify()');
}

const OUTBOX_COLUMNS = 'id, event_id, topic, message_key, value, headers, created_at';

const PUBLISHED_LOG_UP = [
  `CREATE TABLE outbox_published (
     id bigint PRIMARY KEY,
     event_id uuid,
     topic text NOT NULL,
     message_key text NOT NULL,
     value text NOT NULL,
     headers jsonb NOT NULL,
     created_at timestamptz NOT NULL,
     published_at timestamptz NOT NULL DEFAULT clock_timestamp()
   )`,
  `INSERT INTO outbox_published (${OUTBOX_COLUMNS}, published_at)
   SELECT ${OUTBOX_COLUMNS}, published_at FROM outbox WHERE published_at IS NOT NULL`,
  `DELETE FROM outbox WHERE published_at IS NOT NULL`,
  `CREATE VIEW outbox_events AS
     SELECT ${OUTBOX_COLUMNS}, NULL::timestamptz AS published_at, abandoned_at FROM outbox
     UNION ALL
     SELECT ${OUTBOX_COLUMNS}, published_at, NULL::timestamptz AS abandoned_at FROM outbox_published`,
];

/**
 * The relay deletes what it has published (ADR 0008). A copy of each published row is kept in
 * `outbox_published` only when the service is configured to keep one (`OUTBOX_KEEP_PUBLISHED_MS`,
 * off by default); `outbox_events` shows both tables as one. Rows that a relay of the previous
 * release marked published are moved there too.
 */
export class MessagingPublishedLog1764835200000 implements MigrationInterface {
  name = 'MessagingPublishedLog1764835200000';

  async up(qr: QueryRunner): Promise<void> {
    for (const sql of PUBLISHED_LOG_UP) await qr.query(sql);
  }

  async down(qr: QueryRunner): Promise<void> {
    await qr.query('DROP VIEW outbox_events');
    // The previous release keeps published rows in `outbox`, marked.
    await qr.query(
      `INSERT INTO outbox (${OUTBOX_COLUMNS}, published_at, attempts)
       SELECT ${OUTBOX_COLUMNS}, published_at, 1 FROM outbox_published`,
    );
    await qr.query('DROP TABLE outbox_published');
  }
}
