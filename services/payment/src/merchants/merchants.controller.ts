import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { idSchema } from '@admit/contracts';
import {
  AdmitError,
  CurrentPrincipal,
  decodeCursor,
  Idempotent,
  pageQuerySchema,
  parseOr400,
  RequireScopes,
  toPage,
  ZodPipe,
  type Principal,
} from '@admit/service-kit';
import { createApiKeySchema, createMerchantSchema, type CreateMerchant } from './merchants.dto';
import { MerchantsService } from './merchants.service';

@Controller('v1')
export class MerchantsController {
  constructor(private readonly merchants: MerchantsService) {}

  @Post('merchants')
  @RequireScopes('acquirer')
  @Idempotent()
  onboard(@Body(new ZodPipe(createMerchantSchema)) body: CreateMerchant) {
    return this.merchants.onboard(body);
  }

  @Get('merchants')
  @RequireScopes('acquirer', 'merchant')
  async list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    const q = parseOr400(pageQuerySchema, query);
    const rows = await this.merchants.list(principal, q.limit, decodeCursor(q.cursor));
    return toPage(rows, q.limit);
  }

  @Get('merchants/:id')
  @RequireScopes('acquirer', 'merchant')
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    if (!idSchema('merchant').safeParse(id).success) throw notFound();
    return this.merchants.get(principal, id);
  }

  @Post('merchants/:id/api-keys')
  @RequireScopes('acquirer', 'merchant')
  @Idempotent()
  createKey(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() body: unknown) {
    const input = parseOr400(createApiKeySchema, body);
    if (!idSchema('merchant').safeParse(id).success) throw notFound();
    return this.merchants.createKey(principal, id, input.scope, input.attractionId ?? null);
  }

  @Delete('api-keys/:id')
  @HttpCode(200)
  @RequireScopes('acquirer', 'merchant')
  revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    if (!idSchema('apiKey').safeParse(id).success) throw notFound('API key');
    return this.merchants.revokeKey(principal, id);
  }
}

function notFound(what = 'merchant'): AdmitError {
  return AdmitError.notFound(what);
}
