import { Socket } from 'node:net';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(2000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
    s.connect(port, host);
  });
}

/**
 * Integration and end-to-end tests run against real PostgreSQL, Redis and Kafka, found through
 * the environment (the README's test command starts Kafka; PostgreSQL and Redis are the
 * machine's). No fakes: when something is missing the run stops with what to start.
 */
export default async function globalSetup(): Promise<void> {
  process.env['KAFKA_BROKERS'] ??= '127.0.0.1:9092';
  process.env['REDIS_URL'] ??= 'redis://127.0.0.1:6379';
  process.env['PGHOST'] ??= '127.0.0.1';
  const [kHost, kPort] = (process.env['KAFKA_BROKERS'].split(',')[0] ?? '').split(':');
  const redis = new URL(process.env['REDIS_URL']);
  const checks = await Promise.all([
    reachable('127.0.0.1', 5432).then((ok) => ['PostgreSQL 127.0.0.1:5432', ok] as const),
    reachable(redis.hostname, Number(redis.port || 6379)).then((ok) => [`Redis ${redis.host}`, ok] as const),
    reachable(kHost ?? '127.0.0.1', Number(kPort ?? 9092)).then(
      (ok) => [`Kafka ${process.env['KAFKA_BROKERS']}`, ok] as const,
    ),
  ]);
  const missing = checks.filter(([, ok]) => !ok).map(([name]) => name);
  if (missing.length > 0) {
    throw new Error(
      `Not reachable: ${missing.join(', ')}. Run the README's test command (it starts Kafka), or start them.`,
    );
  }
}
