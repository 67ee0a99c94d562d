import 'reflect-metadata';
import { createPlatform, runUntilSignal, startService } from '@admit/service-kit';
import { ReportingModule } from './app.module';
import { loadReportingSettings } from './config';
import { REPORTING_MIGRATIONS } from './database/migrations';
import { LedgerConsumer } from './ledger/ledger.consumer';
import { REPORTING_OPERATIONS } from './openapi';
import { REPORTING_TOPICS } from './topics';
import { VisitorsConsumer } from './visitors/visitors.consumer';

export async function startReporting(env: NodeJS.ProcessEnv = process.env) {
  const settings = loadReportingSettings(env);
  const platform = await createPlatform({ settings, entities: [], migrations: REPORTING_MIGRATIONS });
  return startService({
    platform,
    module: ReportingModule.register(platform, settings) as never,
    title: 'Admit reporting service',
    description:
      'Daily bills (gross, discounts, refunds, fees, net), visitor flow and live occupancy, built from the event streams.',
    operations: REPORTING_OPERATIONS,
    topics: REPORTING_TOPICS,
    handlers: (app) => ({ ...app.get(LedgerConsumer).handlers(), ...app.get(VisitorsConsumer).handlers() }),
    batchHandlers: (app) => ({
      ...app.get(LedgerConsumer).batchHandlers(),
      ...app.get(VisitorsConsumer).batchHandlers(),
    }),
    consumerChunkSize: 500,
  });
}

if (require.main === module) runUntilSignal(() => startReporting());
