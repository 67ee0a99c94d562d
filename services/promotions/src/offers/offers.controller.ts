import { Controller, Get, Header, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { decodeCursor, parseOr400, Public } from '@admit/service-kit';
import { RateLimiter } from '../rate-limit';
import { listOffersQuerySchema } from './offers.dto';
import { renderOffersPage } from './offers.page';
import { OffersService } from './offers.service';

@Controller('v1/offers')
export class OffersController {
  constructor(
    private readonly offers: OffersService,
    private readonly limiter: RateLimiter,
  ) {}

  @Get()
  @Public()
  async list(@Req() req: Request, @Query() query: unknown) {
    const q = parseOr400(listOffersQuerySchema, query);
    await this.limiter.hit('offers', req);
    return this.offers.list(q, decodeCursor(q.cursor));
  }
}

/** The visitors' offers page (HTML). */
@Controller('offers')
export class OffersPageController {
  constructor(
    private readonly offers: OffersService,
    private readonly limiter: RateLimiter,
  ) {}

  @Get()
  @Public()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('cache-control', 'no-store')
  async page(@Req() req: Request, @Query() query: unknown) {
    const q = parseOr400(listOffersQuerySchema, { limit: '100', ...(query as object) });
    await this.limiter.hit('offers', req);
    const page = await this.offers.list(q, decodeCursor(q.cursor));
    return renderOffersPage(q.city, page.data);
  }
}
