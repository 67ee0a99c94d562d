import { z } from 'zod';
import type { Operation } from '@admit/service-kit';
import { apiKeySchema, createApiKeySchema, createMerchantSchema, merchantSchema } from './merchants/merchants.dto';
import { cancelBodySchema, createPaymentSchema, listPaymentsQuerySchema, paymentSchema } from './payments/payments.dto';
import { createRefundSchema, refundSchema } from './refunds/refunds.dto';

/** The form fields of an Alipay mapi notification (§3); all fields are signed. */
const alipayNotificationSchema = z.looseObject({
  notify_id: z.string(),
  notify_type: z.string(),
  notify_time: z.string().optional(),
  notify_action_type: z.string().optional(),
  partner: z.string().optional(),
  out_trade_no: z.string().describe('= partner_trans_id of the payment'),
  trade_no: z.string().optional(),
  trade_status: z.enum(['WAIT_BUYER_PAY', 'TRADE_SUCCESS', 'TRADE_CLOSED']).optional(),
  currency: z.string().optional(),
  trans_amount: z.string().optional(),
  sign: z.string(),
  sign_type: z.enum(['MD5', 'RSA2']).optional(),
});

const page = (item: z.ZodType) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

export const PAYMENT_OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/merchants',
    summary: 'Onboard a merchant (registers it with the wallet) and issue its first merchant key',
    scopes: ['acquirer'],
    idempotent: true,
    body: createMerchantSchema,
    responses: {
      201: {
        description: 'merchant with apiKey (secret shown once)',
        schema: merchantSchema.extend({ apiKey: apiKeySchema }),
      },
    },
    tags: ['merchants'],
  },
  {
    method: 'get',
    path: '/v1/merchants',
    summary: 'List merchants',
    scopes: ['acquirer', 'merchant'],
    responses: { 200: { description: 'page', schema: page(merchantSchema) } },
    tags: ['merchants'],
  },
  {
    method: 'get',
    path: '/v1/merchants/{id}',
    summary: 'Get a merchant',
    scopes: ['acquirer', 'merchant'],
    responses: { 200: { description: 'merchant', schema: merchantSchema } },
    tags: ['merchants'],
  },
  {
    method: 'post',
    path: '/v1/merchants/{id}/api-keys',
    summary: 'Issue a merchant or gate key (secret shown once)',
    scopes: ['acquirer', 'merchant'],
    idempotent: true,
    body: createApiKeySchema,
    responses: {
      201: { description: 'key', schema: apiKeySchema },
      404: {
        description:
          "NOT_FOUND: another merchant, or (gate key) an attraction that is not this merchant's or not known within PAYMENT_ORDER_WAIT_MS",
      },
    },
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
      200: {
        description: 'the payment an earlier request with the same Idempotency-Key created',
        schema: paymentSchema,
      },
      404: {
        description:
          "NOT_FOUND: the order is not this merchant's, or not known within PAYMENT_ORDER_WAIT_MS (nothing written, no wallet call)",
      },
      409: { description: 'ORDER_ALREADY_PAID, PAYMENT_IN_PROGRESS or REQUEST_IN_PROGRESS' },
      422: { description: "CURRENCY_MISMATCH (not the order's currency) or IDEMPOTENCY_KEY_REUSED" },
    },
    tags: ['payments'],
  },
  {
    method: 'get',
    path: '/v1/payments',
    summary: 'List payments',
    scopes: ['merchant', 'acquirer'],
    query: listPaymentsQuerySchema,
    responses: { 200: { description: 'page', schema: page(paymentSchema) } },
    tags: ['payments'],
  },
  {
    method: 'get',
    path: '/v1/payments/{id}',
    summary: 'Get a payment',
    scopes: ['merchant', 'acquirer'],
    responses: { 200: { description: 'payment', schema: paymentSchema } },
    tags: ['payments'],
  },
  {
    method: 'post',
    path: '/v1/payments/{id}/cancel',
    summary:
      "Void a payment with the wallet's cancel: closes a processing payment, reverses a succeeded one (same GMT+8 day, before any refund)",
    scopes: ['merchant', 'acquirer'],
    body: cancelBodySchema,
    responses: {
      200: {
        description: 'the payment, now cancelled (reversed: true when captured money was returned)',
        schema: paymentSchema,
      },
      202: {
        description: 'the wallet has not confirmed yet; the resolver keeps retrying (cancellation.status = pending)',
        schema: paymentSchema,
      },
      409: {
        description:
          'PAYMENT_NOT_CANCELLABLE, PAYMENT_HAS_REFUNDS, PAYMENT_UNDER_REVIEW, CANCEL_WINDOW_EXPIRED (refund instead) or another wallet refusal',
      },
    },
    tags: ['payments'],
  },
  {
    method: 'post',
    path: '/v1/payments/{id}/refunds',
    summary:
      "Refund part or all of a succeeded payment, in the payment's currency; repeatable up to the captured amount",
    scopes: ['merchant', 'acquirer'],
    idempotent: true,
    body: createRefundSchema,
    responses: {
      201: {
        description: 'refund: succeeded, failed, or pending (the resolver retries it with the same partner_refund_id)',
        schema: refundSchema,
      },
      200: { description: 'the refund an earlier request with the same Idempotency-Key created', schema: refundSchema },
      409: { description: 'PAYMENT_NOT_REFUNDABLE (not succeeded) or PAYMENT_CANCEL_IN_PROGRESS' },
      422: { description: 'REFUND_EXCEEDS_PAYMENT, CURRENCY_MISMATCH or IDEMPOTENCY_KEY_REUSED' },
    },
    tags: ['refunds'],
  },
  {
    method: 'get',
    path: '/v1/payments/{id}/refunds',
    summary: "List a payment's refunds",
    scopes: ['merchant', 'acquirer'],
    responses: { 200: { description: 'all refunds of the payment', schema: page(refundSchema) } },
    tags: ['refunds'],
  },
  {
    method: 'get',
    path: '/v1/refunds/{id}',
    summary: 'Get a refund',
    scopes: ['merchant', 'acquirer'],
    responses: { 200: { description: 'refund', schema: refundSchema } },
    tags: ['refunds'],
  },
  {
    method: 'post',
    path: '/v1/wallets/alipay/notify',
    summary:
      "The wallet's asynchronous notification (public; authenticated by the wallet's signature). Verified, stored, confirmed by query, applied idempotently; answered with the plain body `success`",
    body: alipayNotificationSchema,
    bodyContentType: 'application/x-www-form-urlencoded',
    responses: {
      200: { description: 'accepted and stored', schema: z.literal('success'), contentType: 'text/plain' },
      400: {
        description: 'INVALID_NOTIFICATION: bad or missing signature, wrong partner, malformed; nothing is changed',
      },
    },
    tags: ['wallets'],
  },
];
