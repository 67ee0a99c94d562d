import { Controller, Get, Query } from '@nestjs/common';
import { decodeCursor, parseOr400, Public } from '@admit/service-kit';
import { listOffersQuerySchema } from './offers.dto';
import { OffersService } from './offers.service';

@Controller('v1/offers')
export class OffersController {
  constructor(private readonly offers: OffersService) {}

  @Get()
  @Public()
  list(@Query() query: unknown) {
    const q = parseOr400(listOffersQuerySchema, query);
    return this.offers.list(q, decodeCursor(q.cursor));
  }
}
