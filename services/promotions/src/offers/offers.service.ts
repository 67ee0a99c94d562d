import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { encodeCursor, type Page } from '@admit/service-kit';
import type { ListOffersQuery, Offer } from './offers.dto';

type OfferRow = {
  id: string;
  name: string;
  city: string;
  discount: Offer['discount'];
  valid_to: Date;
  total_redemptions: number | null;
  redemptions: number;
};

@Injectable()
export class OffersService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

  /**
   * Offers a visitor can claim in a city: active `claim` campaigns of that city (case-insensitive)
   * inside their validity window that have not reached their total-redemption cap or budget.
   */
  async list(q: ListOffersQuery, after: string | null): Promise<Page<Offer>> {
    const rows = (await this.ds.query(
      `SELECT id, name, city, discount, valid_to, redemptions,
              CASE WHEN jsonb_typeof(limits->'totalRedemptions') = 'number' THEN LEAST(floor((limits->>'totalRedemptions')::numeric), 2147483647)::int END
                AS total_redemptions
       FROM campaigns
       WHERE status = 'active' AND trigger = 'claim'
         AND lower(city) = lower($1)
         AND valid_from <= now() AND valid_to > now()
         AND CASE WHEN jsonb_typeof(limits->'totalRedemptions') = 'number'
                  THEN redemptions < (limits->>'totalRedemptions')::numeric ELSE true END
         AND CASE WHEN jsonb_typeof(limits->'budget'->'value') = 'number'
                  THEN budget_used < (limits->'budget'->>'value')::numeric ELSE true END
         AND ($2::text IS NULL OR id > $2)
       ORDER BY id
       LIMIT $3`,
      [q.city, after, q.limit + 1],
    )) as OfferRow[];
    const data = rows.slice(0, q.limit).map((r): Offer => ({
      campaignId: r.id,
      name: r.name,
      city: r.city,
      discount: r.discount,
      validTo: new Date(r.valid_to).toISOString(),
      ...(r.total_redemptions !== null ? { remaining: Math.max(0, r.total_redemptions - r.redemptions) } : {}),
    }));
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > q.limit && last ? encodeCursor(last.campaignId) : null };
  }
}
