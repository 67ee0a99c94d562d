import { z } from 'zod';
import { idSchema } from '@admit/contracts';

export const COUPON_STATUSES = ['issued', 'reserved', 'redeemed', 'expired', 'void'] as const;
export type CouponStatus = (typeof COUPON_STATUSES)[number];

export const listCouponsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(200).optional(),
  customerReference: z.string().trim().min(1).max(255).optional(),
  campaignId: idSchema('campaign').optional(),
  status: z.enum(COUPON_STATUSES).optional(),
});
export type ListCouponsQuery = z.infer<typeof listCouponsQuerySchema>;

export const couponSchema = z.object({
  id: z.string(),
  code: z.string(),
  campaignId: z.string(),
  status: z.enum(COUPON_STATUSES),
  customerReference: z.string().nullable(),
  validTo: z.string(),
});
export type Coupon = z.infer<typeof couponSchema>;

export const claimCouponSchema = z.strictObject({
  campaignId: idSchema('campaign'),
  customerReference: z.string().trim().min(1).max(255),
});
export type ClaimCoupon = z.infer<typeof claimCouponSchema>;
