import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type Platform } from '@admit/service-kit';
import type { PaymentSettings } from './config';
import { MerchantsController } from './merchants/merchants.controller';
import { MerchantsService } from './merchants/merchants.service';
import { PaymentsController } from './payments/payments.controller';
import { PAYMENT_SETTINGS, PaymentsService } from './payments/payments.service';
import type { WalletGateway } from './wallet';
import { WALLET } from './wallet.provider';

@Module({})
export class PaymentModule {
  static register(platform: Platform, settings: PaymentSettings, wallet: WalletGateway): DynamicModule {
    return {
      module: PaymentModule,
      imports: [PlatformModule.forRoot(platform)],
      controllers: [MerchantsController, PaymentsController],
      providers: [
        MerchantsService,
        PaymentsService,
        { provide: WALLET, useValue: wallet },
        { provide: PAYMENT_SETTINGS, useValue: settings },
      ],
    };
  }
}
