import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { CurrentPrincipal, parseOr400, RequireScopes, type Principal } from '@admit/service-kit';
import { dailyReportCsv } from './report-csv';
import { dailyReportQuerySchema, occupancyQuerySchema, visitorFlowQuerySchema } from './reports.dto';
import { ReportsService } from './reports.service';

@Controller('v1/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Get('daily')
  @RequireScopes('acquirer', 'merchant')
  async daily(
    @CurrentPrincipal() principal: Principal,
    @Query() query: unknown,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const q = parseOr400(dailyReportQuerySchema, query);
    const report = await this.reports.daily(principal, q);
    if (accept && /\btext\/csv\b/i.test(accept) && !/\bapplication\/json\b/i.test(accept)) {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="daily-${q.date}${report.merchantId ? `-${report.merchantId}` : ''}.csv"`,
      );
      return dailyReportCsv(report);
    }
    return report;
  }

  @Get('occupancy')
  @RequireScopes('merchant', 'acquirer')
  occupancy(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.reports.occupancy(principal, parseOr400(occupancyQuerySchema, query));
  }

  @Get('visitor-flow')
  @RequireScopes('merchant', 'acquirer')
  visitorFlow(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    return this.reports.visitorFlow(principal, parseOr400(visitorFlowQuerySchema, query));
  }
}
