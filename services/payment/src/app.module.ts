import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type Platform } from '@admit/service-kit';
import type { PaymentSettings } from './config';
import { KnownFacts } from './known/known-facts';
import { MerchantsController } from './merchants/merchants.controller';
import { MerchantsService } from './merchants/merchants.service';
import { paymentMetrics } from './metrics';
import { NotificationsController } from './notifications/notifications.controller';
import { NotificationsService } from './notifications/notifications.service';
import { PaymentResolver } from './payments/payment-resolver';
import { PaymentStore } from './payments/payment-store';
import { PaymentsController } from './payments/payments.controller';
import { PaymentsService } from './payments/payments.service';
import { RefundsController } from './refunds/refunds.controller';
import { RefundsService } from './refunds/refunds.service';
import { PAYMENT_METRICS, PAYMENT_SETTINGS } from './tokens';
import type { WalletGateway } from './wallet';
import { WALLET } from './wallet.provider';

@Module({})
export class PaymentModule {
  static register(platform: Platform, settings: PaymentSettings, wallet: WalletGateway): DynamicModule {
    return {
      module: PaymentModule,
      imports: [PlatformModule.forRoot(platform)],
      controllers: [MerchantsController, PaymentsController, RefundsController, NotificationsController],
      providers: [
        KnownFacts,
        MerchantsService,
        PaymentStore,
        PaymentsService,
        RefundsService,
        PaymentResolver,
        NotificationsService,
        { provide: WALLET, useValue: wallet },
        { provide: PAYMENT_SETTINGS, useValue: settings },
        { provide: PAYMENT_METRICS, useValue: paymentMetrics(platform.registry) },
      ],
    };
  }
}
