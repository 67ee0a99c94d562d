import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { AdmitError, encodeCursor, type Page, type Principal } from '@admit/service-kit';
import type { ListPurchasesQuery, Purchase } from './purchases.dto';

type PurchaseRow = {
  order_id: string;
  merchant_id: string;
  attraction_id: string;
  city: string;
  customer_reference: string | null;
  payment_id: string;
  amount: string;
  currency: string;
  ticket_count: number;
  product_kinds: string[];
  issued_at: Date;
};

function toPurchase(r: PurchaseRow): Purchase {
  const value = Number(r.amount);
  if (!Number.isSafeInteger(value)) throw new RangeError(`amount ${r.amount} is not a safe integer`);
  return {
    orderId: r.order_id,
    merchantId: r.merchant_id,
    attractionId: r.attraction_id,
    city: r.city,
    customerReference: r.customer_reference,
    paymentId: r.payment_id,
    amountPaid: { value, currency: r.currency },
    ticketCount: r.ticket_count,
    productKinds: r.product_kinds,
    issuedAt: new Date(r.issued_at).toISOString(),
  };
}

@Injectable()
export class PurchasesService {
  constructor(@Inject('DATA_SOURCE') private readonly ds: DataSource) {}

  /** The purchases (tickets issued) promotions recorded for the caller's merchant, oldest order first. */
  async list(principal: Principal, q: ListPurchasesQuery, after: string | null): Promise<Page<Purchase>> {
    if (!principal.merchantId) throw AdmitError.notFound('merchant');
    const rows = (await this.ds.query(
      `SELECT order_id, merchant_id, attraction_id, city, customer_reference, payment_id, amount_value::text AS amount, currency,
              ticket_count, product_kinds, issued_at
       FROM purchases
       WHERE merchant_id = $1
         AND ($2::text IS NULL OR customer_reference = $2)
         AND ($3::text IS NULL OR order_id = $3)
         AND ($4::text IS NULL OR order_id > $4)
       ORDER BY order_id
       LIMIT $5`,
      [principal.merchantId, q.customerReference ?? null, q.orderId ?? null, after, q.limit + 1],
    )) as PurchaseRow[];
    const data = rows.slice(0, q.limit).map(toPurchase);
    const last = data[data.length - 1];
    return { data, nextCursor: rows.length > q.limit && last ? encodeCursor(last.orderId) : null };
  }
}
