import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Controller, Get, Header, Query } from '@nestjs/common';
import { z } from 'zod';
import { parseOr400, Public, RequireScopes } from '@admit/service-kit';
import { DashboardService } from './dashboard.service';
import { DASHBOARD_HTML } from './dashboard.html';

const summaryQuerySchema = z.strictObject({
  date: z.iso.date({ message: 'must be a calendar date YYYY-MM-DD' }).optional(),
});

let chartJs: string | null = null;
/** Chart.js's UMD build, served from node_modules (the machine is offline: no CDN). */
function chartBundle(): string {
  // The package's exports do not expose the UMD file: resolve the main entry (dist/chart.cjs) and
  // take its sibling.
  chartJs ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartJs;
}

/**
 * The operations dashboard. The page itself is public and holds no data: the operator signs in
 * with an acquirer key, which the page keeps in sessionStorage (gone when the tab closes) and
 * sends as `Authorization: Bearer` on its fetch calls to `GET /v1/dashboard/summary`, which
 * requires the acquirer scope like every other API call.
 */
@Controller()
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get('dashboard')
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return DASHBOARD_HTML;
  }

  @Get('dashboard/chart.umd.min.js')
  @Public()
  @Header('Content-Type', 'application/javascript; charset=utf-8')
  @Header('Cache-Control', 'public, max-age=86400')
  chart(): string {
    return chartBundle();
  }

  @Get('v1/dashboard/summary')
  @RequireScopes('acquirer')
  summary(@Query() query: unknown) {
    return this.dashboard.summary(parseOr400(summaryQuerySchema, query).date);
  }
}
