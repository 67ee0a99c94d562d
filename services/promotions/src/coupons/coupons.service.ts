import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AdmitError, toPage, type Page, type Principal } from '@admit/service-kit';
import type { Coupon, CouponStatus, ListCouponsQuery } from './coupons.dto';

type CouponRow = {
  id: string;
  code: string;
  campaign_id: string;
  status: CouponStatus;
  customer_reference: string | null;
  valid_to: Date;
};

@Injectable()
export class CouponsService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

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
    return toPage(
      rows.map((r) => ({
        id: r.id,
        code: r.code,
        campaignId: r.campaign_id,
        status: r.status,
        customerReference: r.customer_reference,
        validTo: new Date(r.valid_to).toISOString(),
      })),
      q.limit,
    );
  }
}
