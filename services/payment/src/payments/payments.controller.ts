import { Body, Controller, Get, Headers, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { idSchema } from '@admit/contracts';
import {
  AdmitError,
  CurrentPrincipal,
  decodeCursor,
  Idempotent,
  parseOr400,
  RequireScopes,
  toPage,
  ZodPipe,
  type Principal,
} from '@admit/service-kit';
import { createPaymentSchema, listPaymentsQuerySchema, type CreatePayment } from './payments.dto';
import { PaymentsService } from './payments.service';

@Controller('v1/payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post()
  @RequireScopes('merchant')
  @Idempotent()
  async capture(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(createPaymentSchema)) body: CreatePayment,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { payment, created } = await this.payments.capture(principal, body, idempotencyKey ?? null);
    res.status(created ? 201 : 200);
    return payment;
  }

  @Get()
  @RequireScopes('merchant', 'acquirer')
  async list(@CurrentPrincipal() principal: Principal, @Query() query: unknown) {
    const q = parseOr400(listPaymentsQuerySchema, query);
    const rows = await this.payments.list(principal, q, decodeCursor(q.cursor));
    return toPage(rows, q.limit);
  }

  @Get(':id')
  @RequireScopes('merchant', 'acquirer')
  get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    if (!idSchema('payment').safeParse(id).success) throw AdmitError.notFound('payment');
    return this.payments.get(principal, id);
  }
}
