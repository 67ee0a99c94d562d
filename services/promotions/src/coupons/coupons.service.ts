import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AdmitError, toPage, type Page, type Principal } from '@admit/service-kit';
import type { ClaimCoupon, Coupon, CouponStatus, ListCouponsQuery } from './coupons.dto';
import { issueCoupon, lockCampaign } from './engine';

type CouponRow = {
  id: string;
  code: string;
  campaign_id: string;
  status: CouponStatus;
  customer_reference: string | null;
  valid_to: Date;
};

function toCoupon(r: CouponRow): Coupon {
  return {
    id: r.id,
    code: r.code,
    campaignId: r.campaign_id,
    status: r.status,
    customerReference: r.customer_reference,
    validTo: new Date(r.valid_to).toISOString(),
  };
}

@Injectable()
export class CouponsService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

  /**
   * Claims a coupon of a `claim` campaign for a visitor. All limits are checked and counted under
   * the campaign's row lock in one transaction, so concurrent claims never overshoot them.
   * `merchantId` (a merchant key's caller) restricts the claim to that merchant's campaigns.
   */
  async claim(body: ClaimCoupon, merchantId: string | null): Promise<Coupon> {
    return this.ds.transaction(async (m) => {
      const c = await lockCampaign(m, body.campaignId);
      if (!c || c.trigger !== 'claim' || (merchantId !== null && c.merchant_id !== merchantId))
        throw AdmitError.notFound('campaign');
      const r = await issueCoupon(m, c, body.customerReference, 'claim', null);
      if (!r.ok) {
        switch (r.reason) {
          case 'CUSTOMER_LIMIT_REACHED':
            throw AdmitError.conflict(
              'CUSTOMER_LIMIT_REACHED',
              'This visitor already holds the coupons this campaign allows.',
            );
          case 'CAMPAIGN_NOT_ACTIVE':
            throw AdmitError.conflict('CAMPAIGN_NOT_ACTIVE', 'The campaign is paused or outside its validity window.');
          default:
            throw AdmitError.conflict('CAMPAIGN_EXHAUSTED', 'The campaign has no coupons left.');
        }
      }
      return toCoupon(r.coupon);
    });
  }

  /** The caller merchant's coupons, optionally of one visitor, campaign or status, oldest first. */
  async list(principal: Principal, q: ListCouponsQuery, after: string | null): Promise<Page<Coupon>> {
    if (!principal.merchantId) throw AdmitError.notFound('merchant');
    const rows = (await this.ds.query(
      `SELECT id, code, campaign_id, status, customer_reference, valid_to
       FROM coupons
       WHERE merchant_id = $1
         AND ($2::text IS NULL OR customer_reference = $2)
         AND ($3::text IS NULL OR campaign_id = $3)
         AND ($4::text IS NULL OR status = $4)
         AND ($5::text IS NULL OR id > $5)
       ORDER BY id
       LIMIT $6`,
      [principal.merchantId, q.customerReference ?? null, q.campaignId ?? null, q.status ?? null, after, q.limit + 1],
    )) as CouponRow[];
    return toPage(rows.map(toCoupon), q.limit);
  }
}
