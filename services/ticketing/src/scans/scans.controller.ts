import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { CurrentPrincipal, RequireScopes, ZodPipe, type Principal } from '@admit/service-kit';
import { scanSchema, ScansService, type ScanInput } from './scans.service';

@Controller('v1/scans')
export class ScansController {
  constructor(private readonly scans: ScansService) {}

  @Post()
  @HttpCode(200)
  @RequireScopes('gate')
  scan(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(scanSchema)) body: ScanInput) {
    return this.scans.scan(p, body);
  }
}
