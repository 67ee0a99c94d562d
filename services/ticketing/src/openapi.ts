import { z } from 'zod';
import type { Operation } from '@admit/service-kit';
import {
  attractionSchema,
  createAttractionSchema,
  createProductSchema,
  productSchema,
  slotScheduleSchema,
  slotSchema,
} from './catalog/catalog.dto';
import { createOrderSchema, orderSchema, ticketSchema } from './orders/orders.dto';
import { batchSchema, offlineKitQuerySchema, scanSchema } from './scans/scans.service';
import { availabilityQuerySchema } from './catalog/catalog.dto';
import { offlineKitSchema } from '@admit/contracts';

const page = (item: z.ZodType) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });
const scanResult = z.object({
  result: z.enum(['admitted', 'rejected']),
  reason: z
    .enum([
      'ALREADY_USED',
      'NOT_YET_VALID',
      'EXPIRED',
      'WRONG_ATTRACTION',
      'VOID',
      'UNKNOWN_CODE',
      'FORGED',
      'NOT_INSIDE',
    ])
    .optional(),
  ticket: z.object({ id: z.string(), status: z.string(), entriesLeft: z.number() }).optional(),
  previousScan: z.object({ at: z.string(), gateId: z.string() }).optional(),
});

export const TICKETING_OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/attractions',
    summary: 'Create an attraction',
    scopes: ['merchant'],
    idempotent: true,
    body: createAttractionSchema,
    responses: { 201: { description: 'attraction', schema: attractionSchema } },
    tags: ['catalogue'],
  },
  {
    method: 'get',
    path: '/v1/attractions',
    summary: 'List attractions',
    scopes: ['merchant', 'acquirer'],
    responses: { 200: { description: 'page', schema: page(attractionSchema) } },
    tags: ['catalogue'],
  },
  {
    method: 'get',
    path: '/v1/attractions/{id}',
    summary: 'Get an attraction',
    scopes: ['merchant', 'acquirer'],
    responses: { 200: { description: 'attraction', schema: attractionSchema } },
    tags: ['catalogue'],
  },
  {
    method: 'post',
    path: '/v1/attractions/{id}/products',
    summary: 'Create a product',
    scopes: ['merchant'],
    idempotent: true,
    body: createProductSchema,
    responses: { 201: { description: 'product', schema: productSchema } },
    tags: ['catalogue'],
  },
  {
    method: 'get',
    path: '/v1/attractions/{id}/products',
    summary: 'List products',
    scopes: ['merchant', 'acquirer'],
    responses: { 200: { description: 'list', schema: page(productSchema) } },
    tags: ['catalogue'],
  },
  {
    method: 'post',
    path: '/v1/orders',
    summary:
      'Place an order (counter or online); holds slot capacity until holdExpiresAt; with a couponCode answers once pricing is done (≤ 2 s) or with status pricing',
    scopes: ['merchant'],
    idempotent: true,
    body: createOrderSchema,
    responses: {
      201: { description: 'order', schema: orderSchema },
      200: { description: 'replayed for the same Idempotency-Key', schema: orderSchema },
      409: { description: 'SOLD_OUT: a slot has not enough capacity left (nothing is written)' },
      422: { description: 'INVALID_ITEMS, MIXED_ATTRACTIONS, MIXED_CURRENCIES' },
    },
    tags: ['orders'],
  },
  {
    method: 'post',
    path: '/v1/attractions/{id}/slots',
    summary: 'Bulk-schedule time slots (local dates × local times in the attraction time zone)',
    scopes: ['merchant'],
    idempotent: true,
    body: slotScheduleSchema,
    responses: { 201: { description: 'how many slots were created', schema: z.object({ created: z.number() }) } },
    tags: ['catalogue'],
  },
  {
    method: 'get',
    path: '/v1/attractions/{id}/availability',
    summary: 'Slots of a local date with capacity, held, sold, available (query: date=YYYY-MM-DD)',
    scopes: ['merchant', 'acquirer'],
    query: availabilityQuerySchema,
    responses: { 200: { description: 'slots', schema: z.object({ data: z.array(slotSchema) }) } },
    tags: ['catalogue'],
  },
  {
    method: 'post',
    path: '/v1/orders/{id}/cancel',
    summary: 'Cancel an open order: releases its held capacity (and, through order.closed, its coupon)',
    scopes: ['merchant'],
    responses: {
      200: { description: 'order', schema: orderSchema },
      409: { description: 'ORDER_NOT_CANCELLABLE' },
    },
    tags: ['orders'],
  },
  {
    method: 'get',
    path: '/v1/orders/{id}',
    summary: 'Get an order with its tickets',
    scopes: ['merchant', 'acquirer'],
    responses: { 200: { description: 'order', schema: orderSchema } },
    tags: ['orders'],
  },
  {
    method: 'get',
    path: '/v1/tickets/{id}',
    summary: 'Get a ticket',
    scopes: ['merchant', 'acquirer'],
    responses: { 200: { description: 'ticket', schema: ticketSchema } },
    tags: ['tickets'],
  },
  {
    method: 'get',
    path: '/t/{code}',
    summary: "The visitor's e-ticket page (HTML with the QR code)",
    responses: { 200: { description: 'HTML page', contentType: 'text/html', schema: z.string() } },
    tags: ['tickets'],
  },
  {
    method: 'post',
    path: '/v1/scans',
    summary: 'Scan a ticket at a gate (gate key bound to one attraction)',
    scopes: ['gate'],
    body: scanSchema,
    responses: { 200: { description: 'admitted or rejected with a reason', schema: scanResult } },
    tags: ['gates'],
  },
  {
    method: 'post',
    path: '/v1/scans/batch',
    summary:
      'Upload offline scans: applied in scan-time order, idempotent per nonce; double use flagged as conflict and published (scan.conflict)',
    scopes: ['gate'],
    body: batchSchema,
    responses: {
      200: {
        description: 'per-scan outcome (request order) and the number of conflicts',
        schema: z.object({
          data: z.array(scanResult.extend({ nonce: z.string(), conflict: z.boolean().optional() })),
          conflicts: z.number(),
        }),
      },
    },
    tags: ['gates'],
  },
  {
    method: 'get',
    path: '/v1/gates/offline-kit',
    summary: 'Offline kit for the gate key’s attraction: public keys, revoked ticket ids, validity',
    scopes: ['gate'],
    query: offlineKitQuerySchema,
    responses: {
      200: { description: 'kit', schema: offlineKitSchema },
      403: { description: 'WRONG_ATTRACTION: the gate key is bound to another attraction' },
    },
    tags: ['gates'],
  },
];
