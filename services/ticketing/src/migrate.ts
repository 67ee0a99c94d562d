import 'reflect-metadata';
import { runMigrationJob } from '@admit/service-kit';
import { loadTicketingSettings } from './config';
import { TICKETING_MIGRATIONS } from './database/migrations';

/** One-shot migration job (docker-compose / k8s Job): create the database, apply migrations, exit. */
runMigrationJob('ticketing', () => loadTicketingSettings(), TICKETING_MIGRATIONS);
