import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { idSchema } from '@admit/contracts';
import { AdmitError, CurrentPrincipal, Idempotent, RequireScopes, ZodPipe, type Principal } from '@admit/service-kit';
import { createOrderSchema, type CreateOrder } from './orders.dto';
import { OrdersService } from './orders.service';

@Controller('v1/orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  @RequireScopes('merchant')
  @Idempotent()
  async create(
    @CurrentPrincipal() p: Principal,
    @Body(new ZodPipe(createOrderSchema)) body: CreateOrder,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const { order, created } = await this.orders.create(p, body, key ?? null);
    res.status(created ? 201 : 200);
    return order;
  }

  @Get(':id')
  @RequireScopes('merchant', 'acquirer')
  get(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    if (!idSchema('order').safeParse(id).success) throw AdmitError.notFound('order');
    return this.orders.get(p, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScopes('merchant')
  cancel(@CurrentPrincipal() p: Principal, @Param('id') id: string) {
    if (!idSchema('order').safeParse(id).success) throw AdmitError.notFound('order');
    return this.orders.cancel(p, id);
  }
}
