import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { CurrentPrincipal, parseOr400, RequireScopes, ZodPipe, type Principal } from '@admit/service-kit';
import {
  batchSchema,
  offlineKitQuerySchema,
  scanSchema,
  ScansService,
  type BatchInput,
  type ScanInput,
} from './scans.service';

@Controller('v1')
export class ScansController {
  constructor(private readonly scans: ScansService) {}

  @Post('scans')
  @HttpCode(200)
  @RequireScopes('gate')
  scan(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(scanSchema)) body: ScanInput) {
    return this.scans.scan(p, body);
  }

  @Post('scans/batch')
  @HttpCode(200)
  @RequireScopes('gate')
  batch(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(batchSchema)) body: BatchInput) {
    return this.scans.batch(p, body);
  }

  @Get('gates/offline-kit')
  @RequireScopes('gate')
  kit(@CurrentPrincipal() p: Principal, @Query() query: unknown) {
    return this.scans.offlineKit(p, parseOr400(offlineKitQuerySchema, query).attractionId);
  }
}
