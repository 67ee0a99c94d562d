import 'reflect-metadata';
import { runMigrationJob } from '@admit/service-kit';
import { loadReportingSettings } from './config';
import { REPORTING_MIGRATIONS } from './database/migrations';

/** One-shot migration job (docker-compose / k8s Job): create the database, apply migrations, exit. */
runMigrationJob('reporting', () => loadReportingSettings(), REPORTING_MIGRATIONS);
