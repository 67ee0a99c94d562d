import { z } from 'zod';
import type { Operation } from '@admit/service-kit';
import { couponSchema, listCouponsQuerySchema } from './coupons/coupons.dto';
import { listOffersQuerySchema, offerSchema } from './offers/offers.dto';
import { listPurchasesQuerySchema, purchaseSchema } from './purchases/purchases.dto';

const page = (item: z.ZodType) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

export const PROMOTIONS_OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/v1/offers',
    summary: 'Offers a visitor can claim in a city: active claim campaigns within their validity window and limits',
    query: listOffersQuerySchema,
    responses: { 200: { description: 'page of offers', schema: page(offerSchema) } },
    tags: ['offers'],
  },
  {
    method: 'get',
    path: '/v1/coupons',
    summary: "The merchant's coupons, optionally of one visitor (customerReference), campaign or status",
    scopes: ['merchant'],
    query: listCouponsQuerySchema,
    responses: { 200: { description: 'page of coupons', schema: page(couponSchema) } },
    tags: ['coupons'],
  },
  {
    method: 'get',
    path: '/v1/purchases',
    summary:
      'Purchases (tickets issued) promotions has recorded for the merchant; what post-purchase campaigns match on',
    scopes: ['merchant'],
    query: listPurchasesQuerySchema,
    responses: { 200: { description: 'page of purchases', schema: page(purchaseSchema) } },
    tags: ['purchases'],
  },
];
