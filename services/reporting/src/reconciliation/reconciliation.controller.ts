import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { idSchema } from '@admit/contracts';
import { AdmitError, Idempotent, parseOr400, RequireScopes } from '@admit/service-kit';
import { createReconciliationSchema, reconciliationQuerySchema } from './reconciliation.dto';
import { ReconciliationService } from './reconciliation.service';

function wantsCsv(accept: string | undefined): boolean {
  return !!accept && /\btext\/csv\b/i.test(accept) && !/\bapplication\/json\b/i.test(accept);
}

@Controller('v1/reconciliations')
export class ReconciliationController {
  constructor(private readonly recs: ReconciliationService) {}

  @Post()
  @HttpCode(201)
  @Idempotent()
  @RequireScopes('acquirer')
  create(@Body() body: unknown) {
    return this.recs.create(parseOr400(createReconciliationSchema, body));
  }

  @Get()
  @RequireScopes('acquirer')
  list(@Query() query: unknown) {
    return this.recs.list(parseOr400(reconciliationQuerySchema, query));
  }

  @Get(':id')
  @RequireScopes('acquirer')
  async get(
    @Param('id') id: string,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    // A malformed id names no reconciliation: 404, like any id that does not exist (api-v1.md).
    if (!idSchema('reconciliation').safeParse(id).success) throw AdmitError.notFound('reconciliation');
    const recId = id;
    const rec = await this.recs.get(recId);
    if (wantsCsv(accept)) {
      res.setHeader('Content-Type', 'text/csv; charset=utf-8');
      res.setHeader('Content-Disposition', `attachment; filename="${rec.id}.csv"`);
      return this.recs.csv(rec);
    }
    return rec;
  }
}
