import 'reflect-metadata';
import { runMigrationJob } from '@admit/service-kit';
import { loadPaymentSettings } from './config';
import { PAYMENT_MIGRATIONS } from './database/migrations';

/** One-shot migration job (docker-compose / k8s Job): create the database, apply migrations, exit. */
runMigrationJob('payment', () => loadPaymentSettings(), PAYMENT_MIGRATIONS);
