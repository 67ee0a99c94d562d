import { z } from 'zod';
import type { Operation } from '@admit/service-kit';
import { apiKeySchema, createApiKeySchema, createMerchantSchema, merchantSchema } from './merchants/merchants.dto';
import { createPaymentSchema, listPaymentsQuerySchema, paymentSchema } from './payments/payments.dto';

const page = (item: z.ZodType) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

export const PAYMENT_OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/merchants',
    summary: 'Onboard a merchant (registers it with the wallet) and issue its first merchant key',
    scopes: ['acquirer'],
    idempotent: true,
    body: createMerchantSchema,
    responses: { 201: { description: 'merchant with apiKey (secret shown once)', schema: merchantSchema.extend({ apiKey: apiKeySchema }) } },
    tags: ['merchants'],
  },
  { method: 'get', path: '/v1/merchants', summary: 'List merchants', scopes: ['acquirer', 'merchant'], responses: { 200: { description: 'page', schema: page(merchantSchema) } }, tags: ['merchants'] },
  { method: 'get', path: '/v1/merchants/{id}', summary: 'Get a merchant', scopes: ['acquirer', 'merchant'], responses: { 200: { description: 'merchant', schema: merchantSchema } }, tags: ['merchants'] },
  {
    method: 'post',
    path: '/v1/merchants/{id}/api-keys',
    summary: 'Issue a merchant or gate key (secret shown once)',
    scopes: ['acquirer', 'merchant'],
    idempotent: true,
    body: createApiKeySchema,
    responses: { 201: { description: 'key', schema: apiKeySchema } },
    tags: ['merchants'],
  },
  {
    method: 'delete',
    path: '/v1/api-keys/{id}',
    summary: 'Revoke a key; every service rejects it within seconds',
    scopes: ['acquirer', 'merchant'],
    responses: { 200: { description: 'revoked', schema: z.object({ id: z.string(), revoked: z.literal(true) }) } },
    tags: ['merchants'],
  },
  {
    method: 'post',
    path: '/v1/payments',
    summary: 'Capture a scanned wallet payment code for an order',
    scopes: ['merchant'],
    idempotent: true,
    body: createPaymentSchema,
    responses: {
      201: { description: 'payment (succeeded, failed or processing)', schema: paymentSchema },
      200: { description: 'the payment an earlier request with the same Idempotency-Key created', schema: paymentSchema },
      409: { description: 'ORDER_ALREADY_PAID, PAYMENT_IN_PROGRESS or REQUEST_IN_PROGRESS' },
    },
    tags: ['payments'],
  },
  { method: 'get', path: '/v1/payments', summary: 'List payments', scopes: ['merchant', 'acquirer'], query: listPaymentsQuerySchema, responses: { 200: { description: 'page', schema: page(paymentSchema) } }, tags: ['payments'] },
  { method: 'get', path: '/v1/payments/{id}', summary: 'Get a payment', scopes: ['merchant', 'acquirer'], responses: { 200: { description: 'payment', schema: paymentSchema } }, tags: ['payments'] },
];
