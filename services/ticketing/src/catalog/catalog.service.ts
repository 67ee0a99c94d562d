import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { newId, type Currency } from '@admit/contracts';
import { appendToOutbox } from '@admit/messaging';
import { AdmitError, type Principal } from '@admit/service-kit';
import type { Validity } from '../tickets/validity';
import type { CreateAttraction, CreateProduct, SlotSchedule } from './catalog.dto';

export type AttractionRow = {
  id: string;
  merchant_id: string;
  name: string;
  city: string;
  timezone: string;
  address: string | null;
  created_at: Date;
};
export type ProductRow = {
  id: string;
  attraction_id: string;
  merchant_id: string;
  name: string;
  kind: 'admission' | 'restaurant' | 'add_on';
  price_value: string;
  currency: Currency;
  max_entries: number;
  validity: Validity;
  requires_slot: boolean;
};

export const toAttraction = (r: AttractionRow) => ({
  id: r.id,
  name: r.name,
  city: r.city,
  timezone: r.timezone,
  ...(r.address ? { address: r.address } : {}),
  createdAt: new Date(r.created_at).toISOString(),
});
export const toProduct = (r: ProductRow) => ({
  id: r.id,
  attractionId: r.attraction_id,
  name: r.name,
  kind: r.kind,
  price: { value: Number(r.price_value), currency: r.currency },
  entry: { maxEntries: r.max_entries, validity: r.validity },
  requiresSlot: r.requires_slot,
});

export type SlotRow = {
  id: string;
  attraction_id: string;
  merchant_id: string;
  starts_at: Date;
  ends_at: Date;
  capacity: number;
  held: number;
  sold: number;
  product_ids: string[] | null;
};

export const toSlot = (r: SlotRow) => ({
  id: r.id,
  startsAt: new Date(r.starts_at).toISOString(),
  endsAt: new Date(r.ends_at).toISOString(),
  capacity: r.capacity,
  held: r.held,
  sold: r.sold,
  available: Math.max(0, r.capacity - r.held - r.sold),
  ...(r.product_ids ? { productIds: r.product_ids } : {}),
});

export function merchantOf(principal: Principal): string {
  if (!principal.merchantId) throw new AdmitError(403, 'FORBIDDEN', 'Use a merchant key for catalogue operations.');
  return principal.merchantId;
}

@Injectable()
export class CatalogService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

  async createAttraction(principal: Principal, input: CreateAttraction) {
    const merchantId = merchantOf(principal);
    const id = newId('attraction');
    return this.ds.transaction(async (m) => {
      const [row] = (await m.query(
        `INSERT INTO attractions (id, merchant_id, name, city, timezone, address) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [id, merchantId, input.name, input.city, input.timezone, input.address ?? null],
      )) as AttractionRow[];
      const a = toAttraction(row as AttractionRow);
      await appendToOutbox(m, {
        type: 'attraction.created',
        aggregateId: id,
        merchantId,
        payload: {
          attractionId: id,
          merchantId,
          name: a.name,
          city: a.city,
          timezone: a.timezone,
          createdAt: a.createdAt,
        },
      });
      return a;
    });
  }

  async attraction(principal: Principal, id: string): Promise<AttractionRow> {
    const rows = (await this.ds.query('SELECT * FROM attractions WHERE id = $1', [id])) as AttractionRow[];
    const row = rows[0];
    if (!row || (principal.scope !== 'acquirer' && row.merchant_id !== principal.merchantId))
      throw AdmitError.notFound('attraction');
    return row;
  }

  async listAttractions(principal: Principal, limit: number, after: string | null) {
    const rows = (await this.ds.query(
      `SELECT * FROM attractions WHERE ($1::text IS NULL OR merchant_id = $1) AND ($2::text IS NULL OR id > $2) ORDER BY id LIMIT $3`,
      [principal.scope === 'acquirer' ? null : principal.merchantId, after, limit + 1],
    )) as AttractionRow[];
    return rows.map(toAttraction);
  }

  async createProduct(principal: Principal, attractionId: string, input: CreateProduct) {
    const attraction = await this.attraction(principal, attractionId);
    const id = newId('product');
    const [row] = (await this.ds.query(
      `INSERT INTO products (id, attraction_id, merchant_id, name, kind, price_value, currency, max_entries, validity, requires_slot)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10) RETURNING *`,
      [
        id,
        attraction.id,
        attraction.merchant_id,
        input.name,
        input.kind,
        input.price.value,
        input.price.currency,
        input.entry.maxEntries,
        JSON.stringify(input.entry.validity),
        input.requiresSlot,
      ],
    )) as ProductRow[];
    return toProduct(row as ProductRow);
  }

  async listProducts(principal: Principal, attractionId: string) {
    await this.attraction(principal, attractionId);
    const rows = (await this.ds.query('SELECT * FROM products WHERE attraction_id = $1 ORDER BY id', [
      attractionId,
    ])) as ProductRow[];
    return { data: rows.map(toProduct), nextCursor: null };
  }

  /**
   * Bulk schedule: every (local date × local time) of the range becomes a slot, in one INSERT …
   * SELECT over generate_series. Local wall-clock times are turned into instants by PostgreSQL in
   * the attraction's time zone (DST-correct). Existing slots (same start) are kept, not duplicated.
   */
  async createSlots(principal: Principal, attractionId: string, input: SlotSchedule) {
    const attraction = await this.attraction(principal, attractionId);
    if (principal.scope !== 'merchant') throw new AdmitError(403, 'FORBIDDEN', 'Use a merchant key.');
    if (input.productIds) {
      const ids = [...new Set(input.productIds)];
      const found = (await this.ds.query('SELECT id FROM products WHERE id = ANY($1) AND attraction_id = $2', [
        ids,
        attraction.id,
      ])) as { id: string }[];
      const known = new Set(found.map((f) => f.id));
      const details = input.productIds.flatMap((id, i) =>
        known.has(id) ? [] : [{ field: `productIds.${i}`, code: 'NOT_FOUND', message: 'No such product here.' }],
      );
      if (details.length > 0)
        throw new AdmitError(422, 'INVALID_PRODUCTS', 'Some products are not of this attraction.', details);
    }
    const rows = (await this.ds.query(
      `WITH ins AS (
         INSERT INTO slots (id, attraction_id, merchant_id, starts_at, ends_at, capacity, product_ids)
         SELECT 'slt_' || substr(md5(random()::text || clock_timestamp()::text || t.t::text || d.d::text), 1, 25),
                $1, $2, (d.d::date + t.t) AT TIME ZONE $3, ((d.d::date + t.t) AT TIME ZONE $3) + make_interval(mins => $4::int),
                $5, $6::text[]
           FROM generate_series($7::date, $8::date, interval '1 day') AS d(d)
          CROSS JOIN unnest($9::time[]) AS t(t)
          ORDER BY 4
         ON CONFLICT (attraction_id, starts_at) DO NOTHING
         RETURNING 1)
       SELECT count(*)::int AS created FROM ins`,
      [
        attraction.id,
        attraction.merchant_id,
        attraction.timezone,
        input.durationMinutes,
        input.capacity,
        input.productIds ? [...new Set(input.productIds)] : null,
        input.from,
        input.to,
        input.times,
      ],
    )) as { created: number }[];
    return { created: rows[0]?.created ?? 0 };
  }

  /** Slots starting on the local `date` of the attraction, with live capacity. */
  async availability(principal: Principal, attractionId: string, date: string) {
    const attraction = await this.attraction(principal, attractionId);
    const rows = (await this.ds.query(
      `SELECT * FROM slots
        WHERE attraction_id = $1
          AND starts_at >= ($2::date)::timestamp AT TIME ZONE $3
          AND starts_at < ($2::date + 1)::timestamp AT TIME ZONE $3
        ORDER BY starts_at`,
      [attraction.id, date, attraction.timezone],
    )) as SlotRow[];
    return { data: rows.map(toSlot) };
  }
}
