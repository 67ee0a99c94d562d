import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import type { Kafka, Producer } from 'kafkajs';
import type { DataSource } from 'typeorm';
import type { Logger } from './logger';
import type { MessagingMetrics } from './metrics';
import { PARTITIONER } from './kafka';
import { onOutboxCommit } from './outbox-signal';

export type OutboxRelayOptions = {
  dataSource: DataSource;
  kafka: Kafka;
  /** Connection string for the LISTEN connection (same database as dataSource). */
  databaseUrl: string;
  logger: Logger;
  metrics: MessagingMetrics;
  /** Distinguishes the advisory lock: one active relay per service database. */
  lockName: string;
  batchSize?: number;
  /** Fallback poll interval when no NOTIFY arrives. */
  pollIntervalMs?: number;
  /**
   * Keep a copy of each published row in `outbox_published` for this long (0, the default: keep
   * none). For audits and tests that read what a service emitted; it costs one more row write
   * per event.
   */
  keepPublishedMs?: number;
};

const PUBLISHED_COLUMNS = 'id, event_id, topic, message_key, value, headers, created_at';
/** Housekeeping (every 5 s) vacuums `outbox` once the relay has deleted this many rows. */
const VACUUM_AFTER_DELETES = 1000;

type OutboxRow = {
  id: string;
  topic: string;
  message_key: string;
  value: string;
  headers: Record<string, string>;
  created_at: Date;
};

/**
 * Publishes outbox rows to Kafka in id order and deletes them once the broker has acknowledged
 * them (ADR 0008: Kafka and the consumers' inboxes are the record of what was published; an
 * UPDATE mark cost a full new row version and two index entries per event).
 *
 * Guarantees: at least once (a crash between the broker's ack and the DELETE republishes the
 * batch; consumers deduplicate by event id) and, per aggregate, in commit order: writers lock
 * the aggregate row before inserting its events, and only one relay per database publishes at a
 * time (a transaction-scoped advisory lock), each batch after the previous one is marked.
 * Survives restarts: the state is the outbox table.
 */
export class OutboxRelay {
  private producer: Producer | null = null;
  private listener: Client | null = null;
  private running = false;
  private wake: (() => void) | null = null;
  private pending = true;
  private loop: Promise<void> | null = null;
  private housekeeping: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Whether this relay held the publishing lock at its last attempt. */
  private leader = false;
  private notifying = false;
  private notifyAgain = false;
  /** Rows deleted since housekeeping last vacuumed the table. */
  private deletedSinceVacuum = 0;

  private readonly keeping: boolean;

  constructor(private readonly o: OutboxRelayOptions) {
    this.keeping = (o.keepPublishedMs ?? 0) > 0;
  }

  async start(): Promise<void> {
    this.running = true;
    this.producer = this.o.kafka.producer({
      createPartitioner: PARTITIONER,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // An idempotent producer must not give up on a batch half-way (kafkajs warns otherwise);
      // the relay keeps the rows and its transaction until the broker is back.
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5000 },
    });
    await this.producer.connect();
    this.unsubscribe = onOutboxCommit(this.o.dataSource, () => this.onLocalCommit());
    await this.listen();
    this.loop = this.run();
    this.housekeeping = setInterval(() => void this.houseKeep(), 5000);
    this.housekeeping.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.kick();
    if (this.housekeeping) clearInterval(this.housekeeping);
    await this.loop?.catch(() => undefined);
    await this.listener?.end().catch(() => undefined);
    await this.producer?.disconnect().catch(() => undefined);
  }

  /** Wakes the loop (also called by NOTIFY). */
  kick(): void {
    this.pending = true;
    this.wake?.();
  }

  /**
   * A transaction of this process committed outbox rows. The leader publishes them at once; a
   * relay that is not the leader (another replica holds the lock) tells the leader with a
   * NOTIFY sent after the commit, outside any data transaction (a NOTIFY inside one would
   * serialize all commits of the database, see outbox-signal.ts). NOTIFYs are coalesced: at
   * most one in flight, and one more after it if commits arrived meanwhile.
   */
  private onLocalCommit(): void {
    this.kick();
    if (this.leader) return;
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = true;
    void (async () => {
      do {
        this.notifyAgain = false;
        await this.o.dataSource.query(`SELECT pg_notify('outbox_ready', '')`).catch(() => undefined);
      } while (this.notifyAgain && this.running);
      this.notifying = false;
    })();
  }

  private async listen(): Promise<void> {
    try {
      const client = new Client({ connectionString: this.o.databaseUrl });
      client.on('notification', () => this.kick());
      client.on('error', (err) => {
        this.o.logger.warn({ err }, 'outbox LISTEN connection lost; polling until it is back');
        this.listener = null;
        setTimeout(() => void (this.running ? this.listen() : undefined), 1000).unref();
      });
      await client.connect();
      await client.query('LISTEN outbox_ready');
      this.listener = client;
    } catch (err) {
      this.o.logger.warn({ err }, 'outbox LISTEN failed; polling');
      setTimeout(() => void (this.running ? this.listen() : undefined), 1000).unref();
    }
  }

  private async run(): Promise<void> {
    let backoff = 100;
    while (this.running) {
      if (!this.pending) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, this.o.pollIntervalMs ?? 500).unref();
        });
        this.wake = null;
      }
      this.pending = false;
      if (!this.running) break;
      try {
        const published = await this.publishBatch();
        if (published === 'locked') {
          await sleep(200);
          this.pending = true;
        } else if (published > 0) {
          this.pending = true; // there may be more
        }
        backoff = 100;
      } catch (err) {
        this.o.metrics.outboxPublishErrors.inc();
        this.o.logger.warn({ err }, 'outbox relay batch failed; will retry');
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
        this.pending = true;
      }
    }
  }

  /** One batch in one transaction. Returns the count published, or 'locked' when another relay is active. */
  async publishBatch(): Promise<number | 'locked'> {
    const producer = this.producer;
    if (!producer) throw new Error('relay not started');
    const qr = this.o.dataSource.createQueryRunner();
    await qr.connect();
    try {
      await qr.startTransaction();
      // The deletes need no flush of their own: if a crash loses them, the rows are published
      // again (at least once; consumers deduplicate by event id).
      const [lock] = (await qr.query(
        `SELECT set_config('synchronous_commit', 'off', true) AS sc, pg_try_advisory_xact_lock(hashtext($1)) AS ok`,
        [`outbox-relay:${this.o.lockName}`],
      )) as { ok: boolean }[];
      this.leader = lock?.ok === true;
      if (!lock?.ok) {
        await qr.rollbackTransaction();
        return 'locked';
      }
      // `published_at IS NULL` matches the pending index's predicate; only relays of releases
      // before ADR 0008 set it (they mark instead of deleting), so a mixed rollout agrees on
      // what is pending.
      const rows = (await qr.query(
        `SELECT id, topic, message_key, value, headers, created_at FROM outbox
          WHERE published_at IS NULL AND abandoned_at IS NULL ORDER BY id LIMIT $1`,
        [this.o.batchSize ?? 500],
      )) as OutboxRow[];
      if (rows.length === 0) {
        await qr.commitTransaction();
        return 0;
      }
      const failed = await this.send(producer, rows, qr);
      const ok = rows.filter((r) => !failed.has(r.id));
      if (ok.length > 0) {
        await qr.query(
          this.keeping
            ? `WITH d AS (DELETE FROM outbox WHERE id = ANY($1::bigint[]) RETURNING ${PUBLISHED_COLUMNS})
               INSERT INTO outbox_published (${PUBLISHED_COLUMNS}) SELECT ${PUBLISHED_COLUMNS} FROM d`
            : 'DELETE FROM outbox WHERE id = ANY($1::bigint[])',
          [ok.map((r) => r.id)],
        );
      }
      await qr.commitTransaction();
      this.deletedSinceVacuum += ok.length;
      const now = Date.now();
      for (const r of ok) {
        this.o.metrics.outboxPublished.inc({ topic: r.topic });
        this.o.metrics.outboxCommitToPublishSeconds.observe((now - new Date(r.created_at).getTime()) / 1000);
      }
      return ok.length;
    } catch (err) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await qr.release();
    }
  }

  /**
   * Sends the rows; returns the ids that were abandoned (non-retriable broker rejection such as
   * a record too large). Retriable failures throw, so the whole batch is retried in order.
   */
  private async send(
    producer: Producer,
    rows: OutboxRow[],
    qr: { query: (q: string, p: unknown[]) => Promise<unknown> },
  ): Promise<Set<string>> {
    const byTopic = new Map<string, OutboxRow[]>();
    for (const r of rows) {
      const list = byTopic.get(r.topic) ?? [];
      list.push(r);
      byTopic.set(r.topic, list);
    }
    const toMessages = (list: OutboxRow[]) =>
      list.map((r) => ({ key: r.message_key, value: r.value, headers: r.headers }));
    try {
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic.entries()].map(([topic, list]) => ({ topic, messages: toMessages(list) })),
      });
      return new Set();
    } catch (err) {
      if (isRetriable(err)) throw err;
      // Non-retriable: find the culprit row(s) one by one, keeping order.
      const abandoned = new Set<string>();
      for (const r of rows) {
        try {
          await producer.send({ topic: r.topic, acks: -1, messages: toMessages([r]) });
        } catch (one) {
          if (isRetriable(one)) throw one;
          abandoned.add(r.id);
          this.o.metrics.outboxAbandoned.inc();
          this.o.logger.error(
            { err: one, outboxId: r.id, topic: r.topic },
            'outbox row abandoned: broker rejected it permanently',
          );
          await qr.query(
            'UPDATE outbox SET abandoned_at = clock_timestamp(), last_error = $2, attempts = attempts + 1 WHERE id = $1',
            [r.id, String(one instanceof Error ? one.message : one).slice(0, 2000)],
          );
        }
      }
      return abandoned;
    }
  }

  /** Every 5 s: the backlog gauges, rows marked by relays of the previous release, expired copies. */
  async houseKeep(): Promise<void> {
    try {
      const [row] = (await this.o.dataSource.query(
        `SELECT count(*)::int AS backlog, COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float AS age
           FROM outbox WHERE published_at IS NULL AND abandoned_at IS NULL`,
      )) as { backlog: number; age: number }[];
      this.o.metrics.outboxBacklog.set(row?.backlog ?? 0);
      this.o.metrics.outboxOldestAgeSeconds.set(row?.age ?? 0);
      // Rows a relay of the previous release marked published instead of deleting (ADR 0008).
      await this.o.dataSource.query(
        `WITH d AS (DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at IS NOT NULL LIMIT 5000)
                    RETURNING ${PUBLISHED_COLUMNS}, published_at)
         INSERT INTO outbox_published (${PUBLISHED_COLUMNS}, published_at)
         SELECT ${PUBLISHED_COLUMNS}, published_at FROM d WHERE $1::boolean`,
        [this.keeping],
      );
      // Copies past their time (all of them when none are kept), oldest first.
      await this.o.dataSource.query(
        `DELETE FROM outbox_published WHERE id IN (
           SELECT id FROM outbox_published WHERE published_at < clock_timestamp() - make_interval(secs => $1)
            ORDER BY id LIMIT 5000)`,
        [(this.o.keepPublishedMs ?? 0) / 1000],
      );
    } catch (err) {
      this.o.logger.warn({ err }, 'outbox housekeeping failed');
    }
    // `outbox` is a queue: every row is inserted once and deleted once. Until a vacuum removes
    // them, the dead rows' entries stay in the pending index, and every batch's SELECT walks over
    // them from the start (a third of a core on a busy service database, seen in the ticketing
    // benchmark). Autovacuum visits a database at most once a minute; the leader vacuums the
    // table itself once enough rows have gone. VACUUM takes no lock writers or the relay wait on.
    if (this.leader && this.deletedSinceVacuum >= VACUUM_AFTER_DELETES) {
      this.deletedSinceVacuum = 0;
      await this.o.dataSource
        .query('VACUUM (ANALYZE false) outbox')
        .catch((err: unknown) => this.o.logger.warn({ err }, 'outbox vacuum failed'));
    }
  }
}

function isRetriable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return true;
  const e = err as { retriable?: boolean; name?: string; originalError?: unknown };
  if (e.name === 'KafkaJSNumberOfRetriesExceeded' && e.originalError) return isRetriable(e.originalError);
  if (e.name === 'KafkaJSProtocolError' || e.name === 'KafkaJSNonRetriableError') return e.retriable !== false;
  return true;
}
