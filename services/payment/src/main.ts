import 'reflect-metadata';
import express from 'express';
import { TOPICS } from '@admit/contracts';
import { createPlatform, runUntilSignal, startService } from '@admit/service-kit';
import { PaymentModule } from './app.module';
import { loadPaymentSettings } from './config';
import { PAYMENT_MIGRATIONS } from './database/migrations';
import { PAYMENT_OPERATIONS } from './openapi';
import { KnownFacts } from './known/known-facts';
import { RefundsService } from './refunds/refunds.service';
import { createWallet } from './wallet.provider';

export async function startPayment(env: NodeJS.ProcessEnv = process.env) {
  const settings = loadPaymentSettings(env);
  const platform = await createPlatform({ settings, entities: [], migrations: PAYMENT_MIGRATIONS });
  const wallet = createWallet(settings);
  return startService({
    platform,
    module: PaymentModule.register(platform, settings, wallet),
    title: 'Admit payment service',
    description: 'Merchants, API keys and wallet payments (Alipay overseas acquiring).',
    operations: PAYMENT_OPERATIONS,
    topics: [TOPICS.merchants.name, TOPICS.orders.name, TOPICS.catalog.name],
    // Ticketing's orders and attractions, projected so payments and gate keys can be checked.
    handlers: (app) => {
      const known = app.get(KnownFacts);
      const refunds = app.get(RefundsService);
      return {
        'order.placed': (payload, { manager }) => known.onOrderPlaced(payload, manager),
        'order.closed': (payload, { manager }) => known.onOrderClosed(payload, manager),
        'attraction.created': (payload, { manager }) => known.onAttractionCreated(payload, manager),
        'order.refund_requested': (payload, { manager }) => refunds.onRefundRequested(payload, manager),
      };
    },
    // Wallet notifications are form posts (application/x-www-form-urlencoded), parsed only on their route.
    configure: (app) => {
      app.use(
        '/v1/wallets/:wallet/notify',
        express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }),
      );
    },
  });
}

if (require.main === module) runUntilSignal(() => startPayment());
