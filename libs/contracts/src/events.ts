import { z } from 'zod';
import { apiScopeSchema } from './auth';
import { currencySchema, moneySchema } from './money';
import { TOPICS, type TopicName } from './topics';

const isoTime = z.iso.datetime({ offset: false });
const failureSchema = z.object({ code: z.string(), message: z.string() });

// ---------------------------------------------------------------- merchants (payment service)
export const merchantOnboardedV1 = z.object({
  merchantId: z.string(),
  name: z.string(),
  country: z.string().length(2),
  city: z.string(),
  timezone: z.string(),
  mcc: z.string(),
  settlementCurrency: currencySchema,
  createdAt: isoTime,
});

/** A key was issued. Services store the hash and honour the key from then on. */
export const apiKeyIssuedV1 = z.object({
  keyId: z.string(),
  merchantId: z.string().nullable(),
  scope: apiScopeSchema,
  attractionId: z.string().nullable(),
  /** SHA-256 (hex) of the secret; the secret itself never leaves the payment service. */
  secretHash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: isoTime,
});

export const apiKeyRevokedV1 = z.object({
  keyId: z.string(),
  merchantId: z.string().nullable(),
  revokedAt: isoTime,
});

// ---------------------------------------------------------------- catalog (ticketing service)
export const attractionCreatedV1 = z.object({
  attractionId: z.string(),
  merchantId: z.string(),
  name: z.string(),
  city: z.string(),
  timezone: z.string(),
  createdAt: isoTime,
});

// ---------------------------------------------------------------- orders (ticketing service)
export const orderItemV1 = z.object({
  productId: z.string(),
  productKind: z.enum(['admission', 'restaurant', 'add_on']),
  slotId: z.string().nullable(),
  quantity: z.number().int().positive(),
  unitPrice: moneySchema,
});

export const orderPlacedV1 = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  attractionId: z.string(),
  channel: z.enum(['counter', 'online']),
  items: z.array(orderItemV1).min(1),
  total: moneySchema,
  amountDue: moneySchema,
  couponCode: z.string().nullable(),
  customerReference: z.string().nullable(),
  holdExpiresAt: isoTime.nullable(),
  placedAt: isoTime,
});

export const orderFulfilledV1 = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  attractionId: z.string(),
  paymentId: z.string(),
  amountPaid: moneySchema,
  ticketCount: z.number().int().nonnegative(),
  fulfilledAt: isoTime,
});

export const orderClosedV1 = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  reason: z.enum(['cancelled', 'expired']),
  closedAt: isoTime,
});

// ---------------------------------------------------------------- payments (payment service)
export const paymentSucceededV1 = z.object({
  paymentId: z.string(),
  orderId: z.string(),
  merchantId: z.string(),
  amount: moneySchema,
  wallet: z.string(),
  walletTransactionId: z.string(),
  partnerTransId: z.string(),
  paidAt: isoTime,
  /** The wallet's rate from the payment currency to CNY, as a decimal string; null for CNY. */
  exchangeRate: z.string().nullable(),
  /** What the buyer paid in the wallet's currency (CNY) for cross-currency payments. */
  settlementAmount: moneySchema.nullable(),
});

export const paymentFailedV1 = z.object({
  paymentId: z.string(),
  orderId: z.string(),
  merchantId: z.string(),
  amount: moneySchema,
  partnerTransId: z.string(),
  failure: failureSchema,
  failedAt: isoTime,
});

export const paymentCancelledV1 = z.object({
  paymentId: z.string(),
  orderId: z.string(),
  merchantId: z.string(),
  amount: moneySchema,
  partnerTransId: z.string(),
  /** True when money had been captured and the cancel reversed it. */
  reversed: z.boolean(),
  cancelledAt: isoTime,
});

export const refundSucceededV1 = z.object({
  refundId: z.string(),
  paymentId: z.string(),
  orderId: z.string(),
  merchantId: z.string(),
  amount: moneySchema,
  refundedTotal: moneySchema,
  fullyRefunded: z.boolean(),
  partnerRefundId: z.string(),
  succeededAt: isoTime,
});

export const refundFailedV1 = z.object({
  refundId: z.string(),
  paymentId: z.string(),
  orderId: z.string(),
  merchantId: z.string(),
  amount: moneySchema,
  failure: failureSchema,
  failedAt: isoTime,
});

// ---------------------------------------------------------------- tickets (ticketing service)
export const issuedTicketV1 = z.object({
  ticketId: z.string(),
  productId: z.string(),
  productKind: z.enum(['admission', 'restaurant', 'add_on']),
  slotId: z.string().nullable(),
  validFrom: isoTime,
  validTo: isoTime,
  maxEntries: z.number().int().positive(),
});

export const ticketsIssuedV1 = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  attractionId: z.string(),
  city: z.string(),
  paymentId: z.string(),
  customerReference: z.string().nullable(),
  amountPaid: moneySchema,
  tickets: z.array(issuedTicketV1).min(1),
  issuedAt: isoTime,
});

export const ticketVoidedV1 = z.object({
  ticketId: z.string(),
  orderId: z.string(),
  merchantId: z.string(),
  reason: z.string(),
  voidedAt: isoTime,
});

// ---------------------------------------------------------------- coupons (promotions service)
/** The coupon saga's answer to an `order.placed` with a coupon code; key = order id. */
export const couponReservedV1 = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  couponId: z.string(),
  campaignId: z.string(),
  code: z.string(),
  /** The discount on this order, in the order's currency (minor units, deterministic rounding). */
  discount: moneySchema,
  reservedAt: isoTime,
});

export const couponRejectedV1 = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  code: z.string(),
  /** Machine-readable: COUPON_UNKNOWN, COUPON_EXPIRED, COUPON_NOT_APPLICABLE, CAMPAIGN_EXHAUSTED, CUSTOMER_LIMIT_REACHED, BUDGET_EXHAUSTED, COUPON_ALREADY_USED, NOT_STACKABLE … */
  reason: z.string(),
  rejectedAt: isoTime,
});

/** Lifecycle facts of a coupon (issued after a purchase or claimed, redeemed, released); key = coupon id. */
export const couponIssuedV1 = z.object({
  couponId: z.string(),
  campaignId: z.string(),
  merchantId: z.string(),
  code: z.string(),
  customerReference: z.string(),
  trigger: z.enum(['code', 'claim', 'post_purchase']),
  sourceOrderId: z.string().nullable(),
  validTo: isoTime,
  issuedAt: isoTime,
});

export const couponRedeemedV1 = z.object({
  couponId: z.string(),
  campaignId: z.string(),
  merchantId: z.string(),
  orderId: z.string(),
  discount: moneySchema,
  redeemedAt: isoTime,
});

export const couponReleasedV1 = z.object({
  couponId: z.string(),
  campaignId: z.string(),
  merchantId: z.string(),
  orderId: z.string(),
  reason: z.enum(['cancelled', 'expired', 'refunded', 'rejected']),
  releasedAt: isoTime,
});

/** Ticketing: the order was refunded (its unused tickets voided); key = order id. */
export const orderRefundedV1 = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  paymentId: z.string(),
  refundId: z.string(),
  amount: moneySchema,
  refundedTotal: moneySchema,
  fullyRefunded: z.boolean(),
  voidedTicketIds: z.array(z.string()),
  refundedAt: isoTime,
});

/**
 * Ticketing: a captured payment must be given back (it arrived after the hold expired and the
 * capacity is gone, or its amount differs from the amount due). The payment service refunds
 * `amount` of `paymentId` in full; key = order id. Additive (ticketing issue 4).
 */
export const orderRefundRequestedV1 = z.object({
  orderId: z.string(),
  merchantId: z.string(),
  paymentId: z.string(),
  amount: moneySchema,
  reason: z.enum(['LATE_PAYMENT_SOLD_OUT', 'AMOUNT_MISMATCH', 'ORDER_CLOSED', 'DUPLICATE_PAYMENT']),
  requestedAt: isoTime,
});

// ---------------------------------------------------------------- scans (ticketing service)
export const scanRecordedV1 = z.object({
  scanId: z.string(),
  ticketId: z.string().nullable(),
  orderId: z.string().nullable(),
  merchantId: z.string(),
  attractionId: z.string(),
  gateId: z.string(),
  direction: z.enum(['in', 'out']),
  result: z.enum(['admitted', 'rejected']),
  reason: z.string().nullable(),
  scannedAt: isoTime,
});

/**
 * Ticketing: offline gates admitted the same ticket more often than it allows (found when their
 * scans were uploaded); key = ticket id. Additive (ticketing issue 4).
 */
export const scanConflictV1 = z.object({
  ticketId: z.string(),
  orderId: z.string().nullable(),
  merchantId: z.string(),
  attractionId: z.string(),
  scanId: z.string(),
  gateId: z.string(),
  scannedAt: isoTime,
  previousScan: z.object({ gateId: z.string(), at: isoTime }).nullable(),
  detectedAt: isoTime,
});

// ---------------------------------------------------------------- reconciliation (reporting service)
/** One line of a wallet file that does not agree with Admit's ledger; key = reconciliation id. */
export const reconciliationMismatchV1 = z.object({
  reconciliationId: z.string(),
  kind: z.enum(['transaction', 'settlement']),
  date: z.string(),
  status: z.enum(['missingInLedger', 'missingInWallet', 'amountMismatch', 'feeMismatch']),
  lineNumber: z.number().int().nullable(),
  walletTransactionId: z.string().nullable(),
  partnerTransactionId: z.string().nullable(),
  merchantId: z.string().nullable(),
  expected: z.record(z.string(), z.unknown()).nullable(),
  actual: z.record(z.string(), z.unknown()).nullable(),
  detectedAt: isoTime,
});

/**
 * The registry: every event type, the topic it travels on, and its payload schema per version.
 * A breaking change adds a version here; consumers accept every version they list.
 */
export const EVENT_REGISTRY = {
  'merchant.onboarded': { topic: TOPICS.merchants.name, aggregate: 'merchant', versions: { 1: merchantOnboardedV1 } },
  'api_key.issued': { topic: TOPICS.merchants.name, aggregate: 'merchant', versions: { 1: apiKeyIssuedV1 } },
  'api_key.revoked': { topic: TOPICS.merchants.name, aggregate: 'merchant', versions: { 1: apiKeyRevokedV1 } },
  'attraction.created': { topic: TOPICS.catalog.name, aggregate: 'attraction', versions: { 1: attractionCreatedV1 } },
  'order.placed': { topic: TOPICS.orders.name, aggregate: 'order', versions: { 1: orderPlacedV1 } },
  'order.fulfilled': { topic: TOPICS.orders.name, aggregate: 'order', versions: { 1: orderFulfilledV1 } },
  'order.closed': { topic: TOPICS.orders.name, aggregate: 'order', versions: { 1: orderClosedV1 } },
  'payment.succeeded': { topic: TOPICS.payments.name, aggregate: 'payment', versions: { 1: paymentSucceededV1 } },
  'payment.failed': { topic: TOPICS.payments.name, aggregate: 'payment', versions: { 1: paymentFailedV1 } },
  'payment.cancelled': { topic: TOPICS.payments.name, aggregate: 'payment', versions: { 1: paymentCancelledV1 } },
  'refund.succeeded': { topic: TOPICS.payments.name, aggregate: 'payment', versions: { 1: refundSucceededV1 } },
  'refund.failed': { topic: TOPICS.payments.name, aggregate: 'payment', versions: { 1: refundFailedV1 } },
  'tickets.issued': { topic: TOPICS.tickets.name, aggregate: 'order', versions: { 1: ticketsIssuedV1 } },
  'ticket.voided': { topic: TOPICS.tickets.name, aggregate: 'order', versions: { 1: ticketVoidedV1 } },
  'scan.recorded': { topic: TOPICS.scans.name, aggregate: 'ticket', versions: { 1: scanRecordedV1 } },
  'coupon.reserved': { topic: TOPICS.coupons.name, aggregate: 'order', versions: { 1: couponReservedV1 } },
  'coupon.rejected': { topic: TOPICS.coupons.name, aggregate: 'order', versions: { 1: couponRejectedV1 } },
  'coupon.issued': { topic: TOPICS.coupons.name, aggregate: 'coupon', versions: { 1: couponIssuedV1 } },
  'coupon.redeemed': { topic: TOPICS.coupons.name, aggregate: 'coupon', versions: { 1: couponRedeemedV1 } },
  'coupon.released': { topic: TOPICS.coupons.name, aggregate: 'coupon', versions: { 1: couponReleasedV1 } },
  'order.refunded': { topic: TOPICS.orders.name, aggregate: 'order', versions: { 1: orderRefundedV1 } },
  'order.refund_requested': {
    topic: TOPICS.orders.name,
    aggregate: 'order',
    versions: { 1: orderRefundRequestedV1 },
  },
  'scan.conflict': { topic: TOPICS.scans.name, aggregate: 'ticket', versions: { 1: scanConflictV1 } },
  'reconciliation.mismatch': {
    topic: TOPICS.reconciliations.name,
    aggregate: 'reconciliation',
    versions: { 1: reconciliationMismatchV1 },
  },
} as const satisfies Record<string, { topic: TopicName; aggregate: string; versions: Record<number, z.ZodType> }>;

export type EventType = keyof typeof EVENT_REGISTRY;
type Versions<T extends EventType> = (typeof EVENT_REGISTRY)[T]['versions'];
/** The latest (highest) version's payload type of an event. All current events are at v1. */
export type EventPayload<T extends EventType> = z.infer<Versions<T>[1]>;

export const EVENT_TYPES = Object.keys(EVENT_REGISTRY) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_REGISTRY, type);
}

/** The payload schema of `type` at `version`, or undefined when this build does not know it. */
export function payloadSchema(type: string, version: number): z.ZodType | undefined {
  if (!isEventType(type)) return undefined;
  const versions = EVENT_REGISTRY[type].versions as Record<number, z.ZodType>;
  return versions[version];
}

export function latestVersion(type: EventType): number {
  return Math.max(...Object.keys(EVENT_REGISTRY[type].versions).map(Number));
}

export function topicOf(type: EventType): TopicName {
  return EVENT_REGISTRY[type].topic;
}
