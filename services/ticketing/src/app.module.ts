import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type Platform } from '@admit/service-kit';
import { CatalogController } from './catalog/catalog.controller';
import { CatalogService } from './catalog/catalog.service';
import type { TicketingSettings } from './config';
import { HoldExpiryWorker } from './orders/hold-expiry.worker';
import { OrdersController } from './orders/orders.controller';
import { OrdersService, TICKETING_SETTINGS } from './orders/orders.service';
import { ScansController } from './scans/scans.controller';
import { ScansService } from './scans/scans.service';
import { TicketSigner } from './tickets/ticket-code';
import { TicketsController } from './tickets/tickets.controller';

@Module({})
export class TicketingModule {
  static register(platform: Platform, settings: TicketingSettings): DynamicModule {
    return {
      module: TicketingModule,
      imports: [PlatformModule.forRoot(platform)],
      controllers: [CatalogController, OrdersController, TicketsController, ScansController],
      providers: [
        CatalogService,
        OrdersService,
        HoldExpiryWorker,
        ScansService,
        { provide: TICKETING_SETTINGS, useValue: settings },
        { provide: TicketSigner, useValue: new TicketSigner(settings.signingKey, settings.keyId) },
      ],
    };
  }
}
