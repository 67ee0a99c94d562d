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
import { createRefundSchema, type CreateRefund } from '../refunds/refunds.dto';
import { RefundsService } from '../refunds/refunds.service';
import { cancelBodySchema, createPaymentSchema, listPaymentsQuerySchema, type CreatePayment } from './payments.dto';
import { PaymentsService } from './payments.service';

function paymentIdOr404(id: string): string {
  if (!idSchema('payment').safeParse(id).success) throw AdmitError.notFound('payment');
  return id;
}

@Controller('v1/payments')
export class PaymentsController {
  constructor(
    private readonly payments: PaymentsService,
    private readonly refunds: RefundsService,
  ) {}

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
    return this.payments.get(principal, paymentIdOr404(id));
  }

  /** Void: cancel a processing payment, or reverse a succeeded one (the wallet's cancel). */
  @Post(':id/cancel')
  @RequireScopes('merchant', 'acquirer')
  async cancel(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(cancelBodySchema)) _body: unknown,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { payment, pending } = await this.payments.cancel(principal, paymentIdOr404(id));
    res.status(pending ? 202 : 200);
    return payment;
  }

  @Post(':id/refunds')
  @RequireScopes('merchant', 'acquirer')
  @Idempotent()
  async refund(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(createRefundSchema)) body: CreateRefund,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { refund, created } = await this.refunds.create(principal, paymentIdOr404(id), body, idempotencyKey ?? null);
    res.status(created ? 201 : 200);
    return refund;
  }

  @Get(':id/refunds')
  @RequireScopes('merchant', 'acquirer')
  async listRefunds(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return { data: await this.refunds.listForPayment(principal, paymentIdOr404(id)), nextCursor: null };
  }
}
