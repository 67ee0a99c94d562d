import 'reflect-metadata';
import { buildDataSource, createDatabaseIfMissing, runMigrationsLocked } from '@admit/service-kit';
import { createLogger } from '@admit/messaging';
import { loadReportingSettings } from './config';
import { REPORTING_MIGRATIONS } from './database/migrations';

/** One-shot migration job (docker-compose / k8s Job): create the database, apply migrations, exit. */
async function main(): Promise<void> {
  const settings = loadReportingSettings();
  const logger = createLogger('reporting-migrate', settings.logLevel);
  await createDatabaseIfMissing(settings.databaseUrl);
  const ds = buildDataSource({
    url: settings.databaseUrl,
    entities: [],
    migrations: REPORTING_MIGRATIONS,
    poolSize: 2,
  });
  await ds.initialize();
  const applied = await runMigrationsLocked(ds, logger);
  logger.info({ applied }, 'migrations done');
  await ds.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
