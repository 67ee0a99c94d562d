import type { QueryRunner } from 'typeorm';

/**
 * DDL of the messaging tables every service database carries. Services include
 * `createMessagingTables` in their first migration (migrations, never synchronize).
 *
 * outbox: events waiting for the relay, written in the same transaction as the state change.
 *   A trigger NOTIFYs the relay at commit so publishing does not wait for the next poll.
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
  'DROP TRIGGER outbox_notify_trg ON outbox',
  'DROP FUNCTION outbox_notify()',
  'DROP TABLE outbox',
];

export async function createMessagingTables(qr: QueryRunner): Promise<void> {
  for (const sql of MESSAGING_DDL_UP) await qr.query(sql);
}

export async function dropMessagingTables(qr: QueryRunner): Promise<void> {
  for (const sql of MESSAGING_DDL_DOWN) await qr.query(sql);
}
