import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
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
import {
  availabilityQuerySchema,
  createAttractionSchema,
  createProductSchema,
  slotScheduleSchema,
  type CreateAttraction,
} from './catalog.dto';
import { CatalogService, toAttraction } from './catalog.service';

function attractionId(id: string): string {
  if (!idSchema('attraction').safeParse(id).success) throw AdmitError.notFound('attraction');
  return id;
}

@Controller('v1/attractions')
export class CatalogController {
  constructor(private readonly catalog: CatalogService) {}

  @Post()
  @RequireScopes('merchant')
  @Idempotent()
  create(@CurrentPrincipal() p: Principal, @Body(new ZodPipe(createAttractionSchema)) body: CreateAttraction) {
    return this.catalog.createAttraction(p, body);
  }

  @Get()
  @RequireScopes('merchant', 'acquirer')
  async list(@CurrentPrincipal() p: Principal, @Query() query: unknown) {
    const q = parseOr400(pageQuerySchema, query);
    return toPage(await this.catalog.listAttractions(p, q.limit, decodeCursor(q.cursor)), q.limit);
  }

  @Get(':id')
  @RequireScopes('merchant', 'acquirer')
  async get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return toAttraction(await this.catalog.attraction(p, attractionId(id)));
  }

  @Post(':id/products')
  @RequireScopes('merchant')
  @Idempotent()
  createProduct(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: unknown) {
    const input = parseOr400(createProductSchema, body);
    return this.catalog.createProduct(p, attractionId(id), input);
  }

  @Get(':id/products')
  @RequireScopes('merchant', 'acquirer')
  products(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    return this.catalog.listProducts(p, attractionId(id));
  }

  @Post(':id/slots')
  @RequireScopes('merchant')
  @Idempotent()
  createSlots(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Body() body: unknown) {
    const input = parseOr400(slotScheduleSchema, body);
    return this.catalog.createSlots(p, attractionId(id), input);
  }

  @Get(':id/availability')
  @RequireScopes('merchant', 'acquirer')
  async availability(@CurrentPrincipal() p: Principal, @Param('id') id: string, @Query() query: unknown) {
    // Unknown or foreign attraction → 404 before the query is judged.
    const attraction = await this.catalog.attraction(p, attractionId(id));
    const q = parseOr400(availabilityQuerySchema, query);
    return this.catalog.availability(p, attraction.id, q.date);
  }
}
