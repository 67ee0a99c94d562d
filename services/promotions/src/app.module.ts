import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type Platform } from '@admit/service-kit';
import { PROMOTIONS_SETTINGS, type PromotionsSettings } from './config';
import { CouponsController } from './coupons/coupons.controller';
import { CouponsService } from './coupons/coupons.service';
import { MerchantsConsumer } from './merchants/merchants.consumer';
import { CampaignsController } from './campaigns/campaigns.controller';
import { CampaignsService } from './campaigns/campaigns.service';
import { OffersController, OffersPageController } from './offers/offers.controller';
import { OffersService } from './offers/offers.service';
import { PurchasesConsumer } from './purchases/purchases.consumer';
import { PurchasesController } from './purchases/purchases.controller';
import { PurchasesService } from './purchases/purchases.service';
import { RateLimiter } from './rate-limit';
import { SagaConsumer } from './saga/saga.consumer';

@Module({})
export class PromotionsModule {
  static register(platform: Platform, settings: PromotionsSettings): DynamicModule {
    return {
      module: PromotionsModule,
      imports: [PlatformModule.forRoot(platform)],
      controllers: [
        CampaignsController,
        OffersController,
        OffersPageController,
        CouponsController,
        PurchasesController,
      ],
      providers: [
        CampaignsService,
        RateLimiter,
        SagaConsumer,
        OffersService,
        CouponsService,
        PurchasesService,
        PurchasesConsumer,
        MerchantsConsumer,
        { provide: PROMOTIONS_SETTINGS, useValue: settings },
      ],
    };
  }
}
