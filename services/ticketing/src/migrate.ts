import 'reflect-metadata';
import { createLogger } from '@admit/messaging';
import { buildDataSource, createDatabaseIfMissing, runMigrationsLocked } from '@admit/service-kit';
import { loadTicketingSettings } from './config';
import { TICKETING_MIGRATIONS } from './database/migrations';

/** One-shot migration job: create the database, apply migrations, exit. */
async function main(): Promise<void> {
  const settings = loadTicketingSettings();
  const logger = createLogger('ticketing-migrate', settings.logLevel);
  await createDatabaseIfMissing(settings.databaseUrl);
  const ds = buildDataSource({ url: settings.databaseUrl, entities: [], migrations: TICKETING_MIGRATIONS, poolSize: 2 });
  await ds.initialize();
  logger.info({ applied: await runMigrationsLocked(ds, logger) }, 'migrations done');
  await ds.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
