import { Controller, Get, Param } from '@nestjs/common';
import { idSchema } from '@admit/contracts';
import { AdmitError, CurrentPrincipal, RequireScopes, type Principal } from '@admit/service-kit';
import { RefundsService } from './refunds.service';

@Controller('v1/refunds')
export class RefundsController {
  constructor(private readonly refunds: RefundsService) {}

  @Get(':id')
  @RequireScopes('merchant', 'acquirer')
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    if (!idSchema('refund').safeParse(id).success) throw AdmitError.notFound('refund');
    return this.refunds.get(principal, id);
  }
}
