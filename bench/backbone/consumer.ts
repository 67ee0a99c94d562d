/**
 * The consumer side of the backbone benchmark, run as its own process (like a consuming
 * service): an EventConsumer whose handler writes one effect row per event in the inbox
 * transaction. Reports progress to the parent over IPC.
 *
 *   node dist/bench/backbone/consumer.js <topic> <group>   (started by run.js)
 */
import { Registry } from 'prom-client';
import type { DataSource, QueryRunner } from 'typeorm';
import { createKafka, createLogger, EventConsumer, messagingMetrics, preparedQuery } from '@admit/messaging';
import { benchDataSource, EVENT_TYPE, KAFKA_BROKERS, type ChildMessage, type ParentMessage } from './common';

function send(m: ChildMessage): void {
  process.send?.(m);
}

function sendAndFlush(m: ChildMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

async function main(): Promise<void> {
  const [topic, group] = process.argv.slice(2);
  if (!topic || !group) throw new Error('usage: consumer.js <topic> <group>');
  const logger = createLogger('bench-consumer', process.env['BENCH_LOG_LEVEL'] ?? 'warn');
  const ds = benchDataSource(6);
  await ds.initialize();
  // occurredAt → inbox commit, per event: the handler notes the event on its transaction's query
  // runner; when that transaction's COMMIT returns, every event in it is consumed.
  const pending = new WeakMap<QueryRunner, number[]>();
  let latencies: [number, number][] = [];
  const committing = new Proxy(ds, {
    get(target, prop) {
      if (prop === 'createQueryRunner') {
        return (): QueryRunner => {
          const qr = target.createQueryRunner();
          const commit = qr.commitTransaction.bind(qr);
          const rollback = qr.rollbackTransaction.bind(qr);
          qr.commitTransaction = async () => {
            await commit();
            const now = Date.now();
            for (const t of pending.get(qr) ?? []) latencies.push([t, now - t]);
            pending.delete(qr);
          };
          qr.rollbackTransaction = async () => {
            pending.delete(qr);
            await rollback();
          };
          return qr;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as DataSource;
  const registry = new Registry();
  const metrics = messagingMetrics(registry);
  const consumer = new EventConsumer({
    kafka: createKafka({ brokers: KAFKA_BROKERS, clientId: `bench-consumer-${process.pid}` }, logger),
    dataSource: committing,
    groupId: group,
    topics: [topic],
    logger,
    metrics,
    handlers: {
      [EVENT_TYPE]: async (payload, ctx) => {
        const qr = ctx.manager.queryRunner;
        if (qr) pending.set(qr, [...(pending.get(qr) ?? []), Date.parse(ctx.envelope.occurredAt)]);
        // prepared, as pgbench's reference runs it (-M prepared)
        await preparedQuery(
          ctx.manager,
          'bench_effect_insert',
          `INSERT INTO bench_effect (event_id, aggregate_id, seq, occurred_at) VALUES ($1, $2, $3, $4)`,
          [ctx.envelope.eventId, ctx.envelope.aggregateId, Number(payload.reason.slice(4)), ctx.envelope.occurredAt],
        );
      },
    },
  });
  const count = async (outcome: string): Promise<number> =>
    (await metrics.consumed.get()).values
      .filter((v) => v.labels['outcome'] === outcome)
      .reduce((n, v) => n + v.value, 0);

  await consumer.start();
  send({ type: 'ready' });
  const timer = setInterval(() => {
    void count('processed').then((processed) => send({ type: 'progress', processed }));
  }, 100);

  process.on('message', (m: ParentMessage) => {
    if (m.type === 'reset-latency') {
      metrics.commitToConsumeSeconds.reset();
      latencies = [];
    }
    if (m.type !== 'stop') return;
    void (async () => {
      clearInterval(timer);
      await consumer.stop();
      // the library's own commit-to-consume histogram (measured after the inbox commit)
      const h = (await metrics.commitToConsumeSeconds.get()).values;
      const bucket = (le: number): number =>
        h
          .filter((v) => v.metricName?.endsWith('_bucket') && Number(v.labels['le']) === le)
          .reduce((n, v) => n + v.value, 0);
      const total = h.filter((v) => v.metricName?.endsWith('_count')).reduce((n, v) => n + v.value, 0);
      // wait until the (large) message is handed over: exiting right after send can drop it
      await sendAndFlush({
        type: 'final',
        processed: await count('processed'),
        duplicates: await count('duplicate'),
        within100ms: bucket(0.1),
        total,
        commitLatencies: latencies,
      });
      await ds.destroy();
      process.exit(0);
    })();
  });
}

main().catch((err: unknown) => {
  send({ type: 'error', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
