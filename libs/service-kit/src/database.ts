import { Client } from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';
import { createLogger, type Logger } from '@admit/messaging';

/** Creates the service's own database if it does not exist (first start on a fresh server). */
export async function createDatabaseIfMissing(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`unsafe database name: ${name}`);
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } catch (err) {
        if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
      }
    }
  } finally {
    await client.end();
  }
}

export type DatabaseOptions = {
  url: string;
  entities: Function[];
  migrations: (new () => MigrationInterface)[];
  poolSize?: number;
};

export function buildDataSource(o: DatabaseOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: o.url,
    entities: o.entities,
    migrations: o.migrations,
    synchronize: false,
    migrationsRun: false,
    migrationsTableName: 'schema_migrations',
    extra: { max: o.poolSize ?? 20, connectionTimeoutMillis: 5000 },
  });
}

/**
 * Applies pending migrations under a PostgreSQL advisory lock, so replicas or a migration Job
 * racing with a service never run the same DDL twice. Each migration runs in its own transaction.
 */
export async function runMigrationsLocked(ds: DataSource, logger: Logger): Promise<string[]> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  try {
    await qr.query(`SELECT pg_advisory_lock(hashtext('admit-migrations'))`);
    const done = await ds.runMigrations({ transaction: 'each' });
    for (const m of done) logger.info({ migration: m.name }, 'migration applied');
    return done.map((m) => m.name);
  } finally {
    await qr.query(`SELECT pg_advisory_unlock(hashtext('admit-migrations'))`).catch(() => undefined);
    await qr.release();
  }
}

/**
 * The one-shot migration job of a service (docker-compose one-shot service, k8s Job): create
 * the database if missing, apply migrations under the advisory lock, exit 0; exit 1 on failure.
 */
export function runMigrationJob(
  service: string,
  settings: () => { databaseUrl: string; logLevel: string },
  migrations: (new () => MigrationInterface)[],
): void {
  const run = async () => {
    const s = settings();
    const logger = createLogger(`${service}-migrate`, s.logLevel);
    await createDatabaseIfMissing(s.databaseUrl);
    // Two connections: one holds the advisory lock, the other runs the migrations.
    const ds = buildDataSource({ url: s.databaseUrl, entities: [], migrations, poolSize: 2 });
    await ds.initialize();
    try {
      logger.info({ applied: await runMigrationsLocked(ds, logger) }, 'migrations done');
    } finally {
      await ds.destroy();
    }
  };
  run().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
