import 'reflect-metadata';
import { TOPICS } from '@admit/contracts';
import { createPlatform, runUntilSignal, startService } from '@admit/service-kit';
import { TicketingModule } from './app.module';
import { loadTicketingSettings } from './config';
import { TICKETING_MIGRATIONS } from './database/migrations';
import { TICKETING_OPERATIONS } from './openapi';
import { OrdersService } from './orders/orders.service';

export async function startTicketing(env: NodeJS.ProcessEnv = process.env) {
  const settings = loadTicketingSettings(env);
  const platform = await createPlatform({ settings, entities: [], migrations: TICKETING_MIGRATIONS });
  return startService({
    platform,
    module: TicketingModule.register(platform, settings),
    title: 'Admit ticketing service',
    description: 'Attractions, products, orders, e-tickets and gate scans.',
    operations: TICKETING_OPERATIONS,
    topics: [TOPICS.payments.name, TOPICS.coupons.name],
    handlers: (app) => {
      const orders = app.get(OrdersService);
      return {
        'payment.succeeded': (payload, { manager }) => orders.onPaymentSucceeded(payload, manager),
        'coupon.reserved': (payload, { manager }) => orders.onCouponReserved(payload, manager),
        'coupon.rejected': (payload, { manager }) => orders.onCouponRejected(payload, manager),
        'refund.succeeded': (p, { manager }) =>
          orders.onRefunded(
            {
              orderId: p.orderId,
              merchantId: p.merchantId,
              paymentId: p.paymentId,
              refundId: p.refundId,
              amount: p.amount,
              refundedTotal: p.refundedTotal,
              fullyRefunded: p.fullyRefunded,
              at: p.succeededAt,
            },
            manager,
          ),
        'payment.cancelled': async (p, { manager }) => {
          if (!p.reversed) return;
          await orders.onRefunded(
            {
              orderId: p.orderId,
              merchantId: p.merchantId,
              paymentId: p.paymentId,
              refundId: p.paymentId,
              amount: p.amount,
              refundedTotal: p.amount,
              fullyRefunded: true,
              at: p.cancelledAt,
            },
            manager,
          );
        },
      };
    },
    // Issuance after a payment, set-based per run of payments (one slot update per slot per chunk)
    batchHandlers: (app) => {
      const orders = app.get(OrdersService);
      return {
        'payment.succeeded': (events, { manager }) =>
          orders.onPaymentsSucceeded(
            events.map((e) => e.payload),
            manager,
          ),
      };
    },
  });
}

if (require.main === module) runUntilSignal(() => startTicketing());
