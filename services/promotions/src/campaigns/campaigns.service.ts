import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager } from 'typeorm';
import { newId } from '@admit/contracts';
import { AdmitError, encodeCursor, type Page, type Principal } from '@admit/service-kit';
import { rowsOf } from '../database/rows';
import type { CreateCampaign, ListCampaignsQuery, UpdateCampaign } from './campaigns.dto';
import { generateCode, zonedToUtc, type Discount, type Limits } from './rules';

export type CampaignRow = {
  id: string;
  merchant_id: string;
  name: string;
  city: string | null;
  attraction_ids: string[];
  trigger: 'code' | 'post_purchase' | 'claim';
  code: string | null;
  discount: Discount;
  conditions: { minSpend?: { value: number; currency: string }; productKinds?: string[] };
  limits: Limits;
  valid_from: Date;
  valid_to: Date;
  timezone: string;
  stacking: 'exclusive' | 'stackable';
  status: 'active' | 'paused';
  redemptions: number;
  budget_used: string;
  created_at: Date;
};

export function toCampaign(r: CampaignRow) {
  const currency =
    r.limits.budget?.currency ??
    ('amountOff' in r.discount ? r.discount.amountOff.currency : undefined) ??
    r.conditions.minSpend?.currency;
  return {
    id: r.id,
    name: r.name,
    ...(r.city !== null ? { city: r.city } : {}),
    attractionIds: r.attraction_ids,
    trigger: r.trigger,
    ...(r.code !== null ? { code: r.code } : {}),
    discount: r.discount,
    conditions: r.conditions,
    limits: r.limits,
    validFrom: new Date(r.valid_from).toISOString(),
    validTo: new Date(r.valid_to).toISOString(),
    timezone: r.timezone,
    stacking: r.stacking,
    status: r.status,
    redemptions: r.redemptions,
    budgetUsed: currency ? { value: Number(r.budget_used), currency } : null,
    createdAt: new Date(r.created_at).toISOString(),
  };
}
export type Campaign = ReturnType<typeof toCampaign>;

/** A validity bound: a bare date as `validTo` means the end of that day (the next midnight). */
export function boundToUtc(text: string, timeZone: string, end: boolean): Date {
  if (end && /^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const d = new Date(`${text}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + 1);
    return zonedToUtc(d.toISOString().slice(0, 10), timeZone);
  }
  return zonedToUtc(text, timeZone);
}

function windowError(): AdmitError {
  return AdmitError.validation([{ field: 'validTo', code: 'INVALID', message: 'validTo must be after validFrom.' }]);
}

@Injectable()
export class CampaignsService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

  private merchantOf(principal: Principal): string {
    if (!principal.merchantId) throw AdmitError.notFound('merchant');
    return principal.merchantId;
  }

  /** The time zone local validity times are read in: given, else the first attraction's, else the merchant's. */
  private async zoneFor(m: EntityManager, merchantId: string, given?: string, attractionIds?: string[]) {
    if (given) return given;
    if (attractionIds && attractionIds.length > 0) {
      const [a] = (await m.query(
        `SELECT timezone FROM attractions WHERE id = ANY($1::text[]) AND merchant_id = $2 LIMIT 1`,
        [attractionIds, merchantId],
      )) as { timezone: string }[];
      if (a) return a.timezone;
    }
    const [mch] = (await m.query(`SELECT timezone FROM merchants WHERE id = $1`, [merchantId])) as {
      timezone: string;
    }[];
    return mch?.timezone ?? 'UTC';
  }

  async create(principal: Principal, body: CreateCampaign): Promise<Campaign> {
    const merchantId = this.merchantOf(principal);
    const tz = await this.zoneFor(this.ds.manager, merchantId, body.timezone, body.attractionIds);
    const validFrom = boundToUtc(body.validFrom, tz, false);
    const validTo = boundToUtc(body.validTo, tz, true);
    if (!(validTo > validFrom)) throw windowError();
    const given = body.code?.toUpperCase();
    for (let attempt = 0; ; attempt++) {
      const code = body.trigger === 'code' ? (given ?? generateCode()) : null;
      try {
        const [row] = (await this.ds.query(
          `INSERT INTO campaigns (id, merchant_id, name, city, attraction_ids, trigger, code, discount, conditions, limits,
                                  valid_from, valid_to, timezone, stacking, status)
           VALUES ($1, $2, $3, $4, $5::text[], $6, $7, $8::jsonb, $9::jsonb, $10::jsonb, $11, $12, $13, $14, $15)
           RETURNING *`,
          [
            newId('campaign'),
            merchantId,
            body.name,
            body.city ?? null,
            body.attractionIds ?? [],
            body.trigger,
            code,
            JSON.stringify(body.discount),
            JSON.stringify(body.conditions ?? {}),
            JSON.stringify(body.limits ?? {}),
            validFrom,
            validTo,
            tz,
            body.stacking,
            body.status,
          ],
        )) as CampaignRow[];
        return toCampaign(row!);
      } catch (err) {
        if ((err as { code?: string }).code !== '23505') throw err;
        if (given) throw AdmitError.conflict('CODE_TAKEN', 'Another campaign of this merchant uses this code.');
        if (attempt > 5) throw err;
      }
    }
  }

  async list(principal: Principal, q: ListCampaignsQuery, after: string | null): Promise<Page<Campaign>> {
    const merchantId = this.merchantOf(principal);
    const rows = (await this.ds.query(
      `SELECT * FROM campaigns
       WHERE merchant_id = $1 AND ($2::text IS NULL OR trigger = $2) AND ($3::text IS NULL OR status = $3)
         AND ($4::text IS NULL OR id > $4)
       ORDER BY id LIMIT $5`,
      [merchantId, q.trigger ?? null, q.status ?? null, after, q.limit + 1],
    )) as CampaignRow[];
    const data = rows.slice(0, q.limit).map(toCampaign);
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > q.limit && last ? encodeCursor(last.id) : null };
  }

  async get(principal: Principal, id: string): Promise<Campaign> {
    const [row] = (await this.ds.query(`SELECT * FROM campaigns WHERE id = $1 AND merchant_id = $2`, [
      id,
      this.merchantOf(principal),
    ])) as CampaignRow[];
    if (!row) throw AdmitError.notFound('campaign');
    return toCampaign(row);
  }

  /** Edits and pause/resume, under the campaign's row lock (the lock limits are enforced under). */
  async update(principal: Principal, id: string, u: UpdateCampaign): Promise<Campaign> {
    const merchantId = this.merchantOf(principal);
    return this.ds.transaction(async (m) => {
      const [cur] = (await m.query(`SELECT * FROM campaigns WHERE id = $1 AND merchant_id = $2 FOR UPDATE`, [
        id,
        merchantId,
      ])) as CampaignRow[];
      if (!cur) throw AdmitError.notFound('campaign');
      const tz = u.timezone ?? cur.timezone;
      const validFrom = u.validFrom ? boundToUtc(u.validFrom, tz, false) : new Date(cur.valid_from);
      const validTo = u.validTo ? boundToUtc(u.validTo, tz, true) : new Date(cur.valid_to);
      if (!(validTo > validFrom)) throw windowError();
      if (u.city === null && cur.trigger === 'claim')
        throw AdmitError.validation([
          { field: 'city', code: 'INVALID', message: 'a claim campaign is offered in a city' },
        ]);
      const [row] = rowsOf<CampaignRow>(
        await m.query(
          `UPDATE campaigns SET name = $2, city = $3, attraction_ids = $4::text[], discount = $5::jsonb, conditions = $6::jsonb,
                limits = $7::jsonb, valid_from = $8, valid_to = $9, timezone = $10, stacking = $11, status = $12, updated_at = now()
         WHERE id = $1 RETURNING *`,
          [
            id,
            u.name ?? cur.name,
            u.city === undefined ? cur.city : u.city,
            u.attractionIds ?? cur.attraction_ids,
            JSON.stringify(u.discount ?? cur.discount),
            JSON.stringify(u.conditions ?? cur.conditions),
            JSON.stringify(u.limits ?? cur.limits),
            validFrom,
            validTo,
            tz,
            u.stacking ?? cur.stacking,
            u.status ?? cur.status,
          ],
        ),
      );
      return toCampaign(row!);
    });
  }
}
