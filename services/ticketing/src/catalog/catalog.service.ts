import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { newId, type Currency } from '@admit/contracts';
import { appendToOutbox } from '@admit/messaging';
import { AdmitError, type Principal } from '@admit/service-kit';
import type { Validity } from '../tickets/validity';
import type { CreateAttraction, CreateProduct } from './catalog.dto';

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
}
