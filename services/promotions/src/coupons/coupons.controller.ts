import { Controller, Get, Query } from '@nestjs/common';
import { CurrentPrincipal, decodeCursor, parseOr400, RequireScopes, type Principal } from '@admit/service-kit';
import { listCouponsQuerySchema } from './coupons.dto';
import { CouponsService } from './coupons.service';

@Controller('v1/coupons')
export class CouponsController {
  constructor(private readonly coupons: CouponsService) {}

  @Get()
  @RequireScopes('merchant')
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    const q = parseOr400(listCouponsQuerySchema, query);
    return this.coupons.list(principal, q, decodeCursor(q.cursor));
  }
}
