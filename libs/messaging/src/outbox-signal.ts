import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';

/**
 * Wakes the outbox relay when a transaction that wrote outbox rows has committed.
 *
 * Why not a NOTIFY trigger on the outbox: PostgreSQL takes one database-wide lock in
 * PreCommit_Notify and holds it until the commit record is flushed, so every transaction that
 * NOTIFYs commits one after the other and group commit is lost. Measured on the 2-core
 * development machine with pgbench (4 clients, one INSERT per transaction): 6,537 tps without
 * the trigger, 3,696 with it; at 16 clients 15,297 against 3,721 (ADR 0006).
 *
 * Instead, `appendToOutbox` marks the transaction's QueryRunner, and a TypeORM subscriber
 * installed on the DataSource calls the registered listeners once that transaction's COMMIT
 * has returned (nested savepoints are ignored: only the outermost commit counts). Writes
 * outside a transaction signal at once (or NOTIFY, see markOutboxWritten). Listeners run
 * synchronously and must not throw.
 */
const OUTBOX_WRITTEN = 'admitOutboxWritten';

type Listener = () => void;
const listeners = new WeakMap<DataSource, Set<Listener>>();

const AFTER_COMMIT = 'admitAfterCommit';

class OutboxCommitSubscriber implements EntitySubscriberInterface {
  constructor(private readonly listeners: Set<Listener>) {}

  afterTransactionCommit(event: { queryRunner: QueryRunner }): void {
    const qr = event.queryRunner;
    if (qr.isTransactionActive || !qr.data) return;
    const callbacks = qr.data[AFTER_COMMIT] as Listener[] | undefined;
    qr.data[AFTER_COMMIT] = undefined;
    for (const cb of callbacks ?? []) cb();
    if (!qr.data[OUTBOX_WRITTEN]) return;
    qr.data[OUTBOX_WRITTEN] = false;
    for (const l of this.listeners) l();
  }

  afterTransactionRollback(event: { queryRunner: QueryRunner }): void {
    const qr = event.queryRunner;
    if (qr.isTransactionActive || !qr.data) return;
    qr.data[OUTBOX_WRITTEN] = false;
    qr.data[AFTER_COMMIT] = undefined;
  }
}

function ensureSubscriber(dataSource: DataSource): Set<Listener> {
  let set = listeners.get(dataSource);
  if (!set) {
    set = new Set();
    listeners.set(dataSource, set);
    dataSource.subscribers.push(new OutboxCommitSubscriber(set));
  }
  return set;
}

/**
 * Runs `fn` once the transaction of `manager` has committed (its outermost COMMIT returned), or
 * never if it rolls back; at once when `manager` is not in a transaction. For in-process
 * notifications about committed state (e.g. an HTTP request waiting for a consumer's result).
 * `fn` runs synchronously and must not throw.
 */
export function afterCommit(manager: EntityManager, fn: () => void): void {
  const qr = manager.queryRunner;
  if (!qr?.isTransactionActive) {
    fn();
    return;
  }
  ensureSubscriber(manager.connection);
  qr.data = qr.data ?? {};
  const list = (qr.data[AFTER_COMMIT] as Listener[] | undefined) ?? [];
  list.push(fn);
  qr.data[AFTER_COMMIT] = list;
}

/** Calls `listener` after every commit on `dataSource` that wrote outbox rows. Returns an unsubscribe function. */
export function onOutboxCommit(dataSource: DataSource, listener: Listener): () => void {
  const set = ensureSubscriber(dataSource);
  set.add(listener);
  return () => set.delete(listener);
}

/**
 * Called by the outbox writer after its INSERT. In a TypeORM transaction: marks it, the relay is
 * woken after its COMMIT. Outside one (autocommit, or a plain pg client as in tools and
 * benchmarks): wakes this process's relay of that DataSource, and when there is none, tells the
 * relays of other processes with a NOTIFY (the writer without a relay of its own, ADR 0006).
 */
export async function markOutboxWritten(manager: EntityManager): Promise<void> {
  const qr = manager.queryRunner;
  if (qr?.isTransactionActive) {
    qr.data = qr.data ?? {};
    qr.data[OUTBOX_WRITTEN] = true;
    return;
  }
  // a plain pg client passed as a manager (tools, benchmarks) has no DataSource
  const local = (manager.connection as DataSource | undefined) ? listeners.get(manager.connection) : undefined;
  if (local && local.size > 0) {
    for (const l of local) l();
    return;
  }
  await manager.query(`SELECT pg_notify('outbox_ready', '')`);
}
