import 'reflect-metadata';
import { runMigrationJob } from '@admit/service-kit';
import { loadPromotionsSettings } from './config';
import { PROMOTIONS_MIGRATIONS } from './database/migrations';

/** One-shot migration job (docker-compose / k8s Job): create the database, apply migrations, exit. */
runMigrationJob('promotions', () => loadPromotionsSettings(), PROMOTIONS_MIGRATIONS);
