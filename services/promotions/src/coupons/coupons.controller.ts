import { Body, Controller, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import {
  AdmitError,
  ApiKeyStore,
  CurrentPrincipal,
  decodeCursor,
  parseOr400,
  Public,
  RequireScopes,
  type Principal,
} from '@admit/service-kit';
import { RateLimiter } from '../rate-limit';
import { claimCouponSchema, listCouponsQuerySchema } from './coupons.dto';
import { CouponsService } from './coupons.service';

@Controller('v1/coupons')
export class CouponsController {
  constructor(
    private readonly coupons: CouponsService,
    private readonly keys: ApiKeyStore,
    private readonly limiter: RateLimiter,
  ) {}

  @Get()
  @RequireScopes('merchant')
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    const q = parseOr400(listCouponsQuerySchema, query);
    return this.coupons.list(principal, q, decodeCursor(q.cursor));
  }

  /**
   * Public (rate-limited per IP) for visitors on the offers page, or with a merchant key (not
   * rate-limited; the merchant's own campaigns only).
   */
  @Post('claim')
  @Public()
  @HttpCode(201)
  async claim(@Req() req: Request, @Body() raw: unknown) {
    // Malformed bodies are refused first, without touching Redis or PostgreSQL; well-formed
    // claims count against the caller's IP.
    const body = parseOr400(claimCouponSchema, raw);
    const header = req.headers.authorization;
    let merchantId: string | null = null;
    if (typeof header === 'string' && header.length > 0) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const principal = match?.[1] ? await this.keys.resolve(match[1]) : null;
      if (!principal)
        throw new AdmitError(401, 'UNAUTHENTICATED', 'The API key is not valid or has been revoked.', undefined, {
          'WWW-Authenticate': 'Bearer error="invalid_token"',
        });
      if (principal.scope !== 'merchant' || !principal.merchantId)
        throw new AdmitError(403, 'FORBIDDEN', `This key's scope (${principal.scope}) may not call this operation.`);
      merchantId = principal.merchantId;
    } else {
      await this.limiter.hit('claim', req);
    }
    return this.coupons.claim(body, merchantId);
  }
}
