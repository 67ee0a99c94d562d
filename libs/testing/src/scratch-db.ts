import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource, MigrationInterface } from 'typeorm';
import { createLogger } from '@admit/messaging';
import { buildDataSource, runMigrationsLocked } from '@admit/service-kit';

/** The server's maintenance database, from which scratch databases are created and dropped. */
const ADMIN_URL = process.env['TEST_PG_ADMIN_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(sql: string): Promise<void> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export type ScratchDb = { name: string; ds: DataSource; drop(): Promise<void> };

/**
 * A database of its own for an integration test, built by a service's migrations (never
 * `synchronize`), on the machine's PostgreSQL; `drop` closes it and removes it.
 */
export async function scratchDatabase(
  prefix: string,
  migrations: (new () => MigrationInterface)[],
  poolSize = 3,
): Promise<ScratchDb> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const ds = buildDataSource({ url: url.toString(), entities: [], migrations, poolSize });
  await ds.initialize();
  await runMigrationsLocked(ds, createLogger(prefix, 'silent'));
  return {
    name,
    ds,
    drop: async () => {
      if (ds.isInitialized) await ds.destroy();
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
