import 'reflect-metadata';
import { TOPICS } from '@admit/contracts';
import { createPlatform, runUntilSignal, startService } from '@admit/service-kit';
import { PromotionsModule } from './app.module';
import { loadPromotionsSettings } from './config';
import { PROMOTIONS_MIGRATIONS } from './database/migrations';
import { MerchantsConsumer } from './merchants/merchants.consumer';
import { PROMOTIONS_OPERATIONS } from './openapi';
import { SagaConsumer } from './saga/saga.consumer';

export async function startPromotions(env: NodeJS.ProcessEnv = process.env) {
  const settings = loadPromotionsSettings(env);
  const platform = await createPlatform({ settings, entities: [], migrations: PROMOTIONS_MIGRATIONS });
  return startService({
    platform,
    module: PromotionsModule.register(platform, settings) as never,
    title: 'Admit promotions service',
    description:
      'Campaigns, offers and coupons; the promotions side of the coupon saga (reserve, redeem, release) and post-purchase issuance.',
    operations: PROMOTIONS_OPERATIONS,
    topics: [TOPICS.merchants.name, TOPICS.tickets.name, TOPICS.orders.name, TOPICS.catalog.name],
    handlers: (app) => ({ ...app.get(MerchantsConsumer).handlers(), ...app.get(SagaConsumer).handlers() }),
    batchHandlers: (app) => app.get(SagaConsumer).batchHandlers(),
  });
}

if (require.main === module) runUntilSignal(() => startPromotions());
