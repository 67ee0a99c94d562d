import { z } from 'zod';
import type { Operation } from '@admit/service-kit';
import {
  conditionsSchema,
  createCampaignSchema,
  discountInputSchema,
  limitsSchema,
  listCampaignsQuerySchema,
  updateCampaignSchema,
} from './campaigns/campaigns.dto';
import { claimCouponSchema, couponSchema, listCouponsQuerySchema } from './coupons/coupons.dto';
import { listOffersQuerySchema, offerSchema } from './offers/offers.dto';
import { listPurchasesQuerySchema, purchaseSchema } from './purchases/purchases.dto';

const page = (item: z.ZodType) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

const money = z.object({ value: z.number().int(), currency: z.string() });
const campaignSchema = z.object({
  id: z.string(),
  name: z.string(),
  city: z.string().optional(),
  attractionIds: z.array(z.string()),
  trigger: z.enum(['code', 'post_purchase', 'claim']),
  code: z.string().optional().describe('code campaigns: the code entered at checkout (generated when not given)'),
  discount: discountInputSchema,
  conditions: conditionsSchema,
  limits: limitsSchema,
  validFrom: z.string(),
  validTo: z.string(),
  timezone: z.string().describe('IANA zone local validity times were read in'),
  stacking: z.enum(['exclusive', 'stackable']),
  status: z.enum(['active', 'paused']),
  redemptions: z.number().int().describe('coupons holding a slot (claimed/issued, or code uses reserved or redeemed)'),
  budgetUsed: money.nullable().describe('discounts of coupons reserved or redeemed'),
  createdAt: z.string(),
});
const problem = { description: 'error (see the error shape)' };

export const PROMOTIONS_OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/v1/campaigns',
    summary:
      "Create a campaign (code, claim or post_purchase). Local validFrom/validTo (YYYY-MM-DD or YYYY-MM-DDTHH:mm) are read in `timezone`, else the first attraction's, else the merchant's; a bare validTo date means the end of that day",
    scopes: ['merchant'],
    idempotent: true,
    body: createCampaignSchema,
    responses: { 201: { description: 'the campaign', schema: campaignSchema }, 400: problem, 409: problem },
    tags: ['campaigns'],
  },
  {
    method: 'get',
    path: '/v1/campaigns',
    summary: "The merchant's campaigns, oldest first",
    scopes: ['merchant'],
    query: listCampaignsQuerySchema,
    responses: { 200: { description: 'page of campaigns', schema: page(campaignSchema) } },
    tags: ['campaigns'],
  },
  {
    method: 'get',
    path: '/v1/campaigns/{id}',
    summary: 'One campaign with its counters',
    scopes: ['merchant'],
    responses: { 200: { description: 'the campaign', schema: campaignSchema }, 404: problem },
    tags: ['campaigns'],
  },
  {
    method: 'patch',
    path: '/v1/campaigns/{id}',
    summary: 'Edit a campaign, pause (`status: paused`) or resume it (`status: active`)',
    scopes: ['merchant'],
    body: updateCampaignSchema,
    responses: { 200: { description: 'the campaign', schema: campaignSchema }, 400: problem, 404: problem },
    tags: ['campaigns'],
  },
  {
    method: 'post',
    path: '/v1/coupons/claim',
    summary:
      'Claim a coupon of a claim campaign for a visitor. Public (rate-limited per IP) or with a merchant key (own campaigns). 409 CAMPAIGN_EXHAUSTED / CUSTOMER_LIMIT_REACHED / CAMPAIGN_NOT_ACTIVE',
    body: claimCouponSchema,
    responses: {
      201: { description: 'the coupon', schema: couponSchema },
      400: problem,
      404: problem,
      409: problem,
      429: problem,
    },
    tags: ['coupons'],
  },
  {
    method: 'get',
    path: '/offers',
    summary: "The visitors' offers page (HTML, mobile-friendly) with a claim button per offer; rate-limited per IP",
    query: listOffersQuerySchema,
    responses: { 200: { description: 'HTML page', contentType: 'text/html' }, 400: problem, 429: problem },
    tags: ['offers'],
  },
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
