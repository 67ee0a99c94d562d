import { Module, type DynamicModule } from '@nestjs/common';
import { PlatformModule, type Platform } from '@admit/service-kit';
import { REPORTING_SETTINGS, type ReportingSettings } from './config';
import { DashboardController } from './dashboard/dashboard.controller';
import { DashboardService } from './dashboard/dashboard.service';
import { FeeRatesController } from './ledger/fee-rates.controller';
import { LedgerConsumer } from './ledger/ledger.consumer';
import { ReconciliationController } from './reconciliation/reconciliation.controller';
import { ReconciliationService } from './reconciliation/reconciliation.service';
import { ReportsController } from './reports/reports.controller';
import { ReportsService } from './reports/reports.service';
import { VisitorsConsumer } from './visitors/visitors.consumer';

@Module({})
export class ReportingModule {
  static register(platform: Platform, settings: ReportingSettings): DynamicModule {
    return {
      module: ReportingModule,
      imports: [PlatformModule.forRoot(platform)],
      controllers: [ReportsController, ReconciliationController, DashboardController, FeeRatesController],
      providers: [
        ReportsService,
        ReconciliationService,
        DashboardService,
        LedgerConsumer,
        VisitorsConsumer,
        { provide: REPORTING_SETTINGS, useValue: settings },
      ],
    };
  }
}
