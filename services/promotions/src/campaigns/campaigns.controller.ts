import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { idSchema } from '@admit/contracts';
import {
  AdmitError,
  CurrentPrincipal,
  decodeCursor,
  Idempotent,
  parseOr400,
  RequireScopes,
  ZodPipe,
  type Principal,
} from '@admit/service-kit';
import {
  createCampaignSchema,
  listCampaignsQuerySchema,
  updateCampaignSchema,
  type CreateCampaign,
  type UpdateCampaign,
} from './campaigns.dto';
import { CampaignsService } from './campaigns.service';

function campaignIdOr404(id: string): string {
  if (!idSchema('campaign').safeParse(id).success) throw AdmitError.notFound('campaign');
  return id;
}

@Controller('v1/campaigns')
export class CampaignsController {
  constructor(private readonly campaigns: CampaignsService) {}

  @Post()
  @RequireScopes('merchant')
  @Idempotent()
  create(@CurrentPrincipal() principal: Principal, @Body(new ZodPipe(createCampaignSchema)) body: CreateCampaign) {
    return this.campaigns.create(principal, body);
  }

  @Get()
  @RequireScopes('merchant')
  list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    const q = parseOr400(listCampaignsQuerySchema, query);
    return this.campaigns.list(principal, q, decodeCursor(q.cursor));
  }

  @Get(':id')
  @RequireScopes('merchant')
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.campaigns.get(principal, campaignIdOr404(id));
  }

  @Patch(':id')
  @RequireScopes('merchant')
  update(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(updateCampaignSchema)) body: UpdateCampaign,
  ) {
    return this.campaigns.update(principal, campaignIdOr404(id), body);
  }
}
