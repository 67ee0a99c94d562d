import { Controller, Get, Query } from '@nestjs/common';
import { CurrentPrincipal, decodeCursor, parseOr400, RequireScopes, type Principal } from '@admit/service-kit';
import { listPurchasesQuerySchema } from './purchases.dto';
import { PurchasesService } from './purchases.service';

@Controller('v1/purchases')
export class PurchasesController {
  constructor(private readonly purchases: PurchasesService) {}

  @Get()
  @RequireScopes('merchant')
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    const q = parseOr400(listPurchasesQuerySchema, query);
    return this.purchases.list(principal, q, decodeCursor(q.cursor));
  }
}
