import { z } from 'zod';
import type { Operation } from '@admit/service-kit';
import { attractionSchema, createAttractionSchema, createProductSchema, productSchema } from './catalog/catalog.dto';
import { createOrderSchema, orderSchema, ticketSchema } from './orders/orders.dto';
import { scanSchema } from './scans/scans.service';

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
    summary: 'Place an order (counter or online); answers awaiting_payment with the amount due',
    scopes: ['merchant'],
    idempotent: true,
    body: createOrderSchema,
    responses: {
      201: { description: 'order', schema: orderSchema },
      422: { description: 'INVALID_ITEMS, MIXED_ATTRACTIONS, MIXED_CURRENCIES, COUPONS_UNAVAILABLE' },
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
];
