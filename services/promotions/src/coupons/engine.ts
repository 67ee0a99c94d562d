import type { EntityManager } from 'typeorm';
import { newId, type Currency, type EventPayload } from '@admit/contracts';
import { appendManyToOutbox, appendToOutbox } from '@admit/messaging';
import type { CampaignRow } from '../campaigns/campaigns.service';
import { rowsOf } from '../database/rows';
import { discountFor, generateCode, limitCheck } from '../campaigns/rules';

/**
 * The coupon state machine. Every function runs in the caller's transaction (the inbox
 * transaction of a consumed event, or the claim request's) and keeps limits exact the same way:
 * the campaign row is locked (`SELECT … FOR UPDATE`) before its counters and the customer's coupon
 * count are read, the check and the counter update happen under that lock, and the counters move
 * only together with a coupon row changing state (issued/reserved → +, released → −), guarded by
 * the coupon's current status so a replay changes nothing.
 *
 * Counters: `redemptions` = coupons holding a slot (claimed or post-purchase coupons from issue
 * until void; code-campaign uses while reserved or redeemed). `budget_used` = discounts of
 * coupons reserved or redeemed.
 */

export type CouponRow = {
  id: string;
  code: string;
  campaign_id: string;
  merchant_id: string;
  customer_reference: string | null;
  status: 'issued' | 'reserved' | 'redeemed' | 'expired' | 'void';
  order_id: string | null;
  trigger: 'code' | 'claim' | 'post_purchase';
  discount_value: string | null;
  discount_currency: string | null;
  valid_to: Date;
};

export type IssueRefusal = 'CAMPAIGN_EXHAUSTED' | 'BUDGET_EXHAUSTED' | 'CUSTOMER_LIMIT_REACHED' | 'CAMPAIGN_NOT_ACTIVE';

export async function lockCampaign(m: EntityManager, id: string): Promise<CampaignRow | undefined> {
  const [row] = (await m.query(`SELECT * FROM campaigns WHERE id = $1 FOR UPDATE`, [id])) as CampaignRow[];
  return row;
}

/** Coupons of a customer in a campaign that count against `perCustomer` (all but void ones). */
async function customerUses(m: EntityManager, campaignId: string, customer: string | null): Promise<number> {
  if (customer === null) return 0;
  const [r] = (await m.query(
    `SELECT count(*)::int AS n FROM coupons WHERE campaign_id = $1 AND customer_reference = $2 AND status <> 'void'`,
    [campaignId, customer],
  )) as { n: number }[];
  return r?.n ?? 0;
}

function isLive(c: CampaignRow, now: Date): boolean {
  return c.status === 'active' && new Date(c.valid_from) <= now && new Date(c.valid_to) > now;
}

/**
 * Issues one coupon of a claim or post-purchase campaign to a customer (the campaign row must be
 * locked by the caller via {@link lockCampaign}). Emits `coupon.issued`.
 */
export async function issueCoupon(
  m: EntityManager,
  c: CampaignRow,
  customer: string,
  trigger: 'claim' | 'post_purchase',
  sourceOrderId: string | null,
  now = new Date(),
): Promise<{ ok: true; coupon: CouponRow } | { ok: false; reason: IssueRefusal }> {
  if (!isLive(c, now)) return { ok: false, reason: 'CAMPAIGN_NOT_ACTIVE' };
  const refusal = limitCheck(
    c.limits,
    {
      redemptions: c.redemptions,
      budgetUsed: Number(c.budget_used),
      customerUses: c.limits.perCustomer !== undefined ? await customerUses(m, c.id, customer) : 0,
    },
    { slot: true, cost: 0 },
  );
  if (refusal) return { ok: false, reason: refusal };
  const rows = (await m.query(
    `INSERT INTO coupons (id, code, campaign_id, merchant_id, customer_reference, status, trigger, source_order_id, valid_to)
     VALUES ($1, $2, $3, $4, $5, 'issued', $6, $7, $8)
     ON CONFLICT (campaign_id, source_order_id) WHERE source_order_id IS NOT NULL DO NOTHING
     RETURNING *`,
    [newId('coupon'), generateCode(), c.id, c.merchant_id, customer, trigger, sourceOrderId, c.valid_to],
  )) as CouponRow[];
  const coupon = rows[0];
  if (!coupon) return { ok: false, reason: 'CAMPAIGN_EXHAUSTED' }; // already issued for this purchase
  await m.query(`UPDATE campaigns SET redemptions = redemptions + 1 WHERE id = $1`, [c.id]);
  await appendToOutbox(m, {
    type: 'coupon.issued',
    aggregateId: coupon.id,
    merchantId: c.merchant_id,
    payload: {
      couponId: coupon.id,
      campaignId: c.id,
      merchantId: c.merchant_id,
      code: coupon.code,
      customerReference: customer,
      trigger,
      sourceOrderId,
      validTo: new Date(coupon.valid_to).toISOString(),
      issuedAt: now.toISOString(),
    },
  });
  return { ok: true, coupon };
}

type Placed = EventPayload<'order.placed'>;

async function reject(m: EntityManager, p: Placed, code: string, reason: string, now: Date): Promise<void> {
  await m.query(`INSERT INTO coupon_answers (order_id, outcome, reason) VALUES ($1, 'rejected', $2)`, [
    p.orderId,
    reason,
  ]);
  await appendToOutbox(m, {
    type: 'coupon.rejected',
    aggregateId: p.orderId,
    merchantId: p.merchantId,
    payload: { orderId: p.orderId, merchantId: p.merchantId, code, reason, rejectedAt: now.toISOString() },
  });
}

/**
 * Checks and reserves the coupon code of a placed order; answers `coupon.reserved` (with the
 * discount) or `coupon.rejected` (with the reason) on the `coupons` topic. The caller makes sure
 * an order is answered once (it records the order first and skips replays).
 */
export async function reserveForOrder(m: EntityManager, p: Placed, now = new Date()): Promise<void> {
  if (p.couponCode === null) return;
  const entered = p.couponCode.trim().toUpperCase();
  if (entered.length === 0 || entered.length > 64) return reject(m, p, p.couponCode, 'COUPON_UNKNOWN', now);

  // Lock order everywhere: the campaign row, then the coupon row (no deadlock between saga steps
  // and claims of one campaign). A personal coupon (claimed or post-purchase) is found first
  // without a lock, to learn its campaign.
  const [found] = (await m.query(`SELECT campaign_id FROM coupons WHERE code = $1 AND merchant_id = $2`, [
    entered,
    p.merchantId,
  ])) as { campaign_id: string }[];
  let campaignId: string | undefined = found?.campaign_id;
  if (!found) {
    const [c] = (await m.query(
      `SELECT id FROM campaigns WHERE merchant_id = $1 AND trigger = 'code' AND upper(code) = $2`,
      [p.merchantId, entered],
    )) as { id: string }[];
    campaignId = c?.id;
  }
  if (!campaignId) return reject(m, p, entered, 'COUPON_UNKNOWN', now);
  const c = (await lockCampaign(m, campaignId))!;
  let coupon: CouponRow | undefined;
  if (found) {
    [coupon] = (await m.query(`SELECT * FROM coupons WHERE code = $1 FOR UPDATE`, [entered])) as CouponRow[];
    if (!coupon || coupon.status !== 'issued')
      return reject(m, p, entered, coupon?.status === 'expired' ? 'COUPON_EXPIRED' : 'COUPON_ALREADY_USED', now);
    if (new Date(coupon.valid_to) <= now) return reject(m, p, entered, 'COUPON_EXPIRED', now);
  }

  if (c.status !== 'active') return reject(m, p, entered, 'CAMPAIGN_PAUSED', now);
  if (new Date(c.valid_from) > now) return reject(m, p, entered, 'COUPON_NOT_YET_VALID', now);
  if (new Date(c.valid_to) <= now) return reject(m, p, entered, 'COUPON_EXPIRED', now);
  if (c.attraction_ids.length > 0 && !c.attraction_ids.includes(p.attractionId))
    return reject(m, p, entered, 'COUPON_NOT_APPLICABLE', now);
  if (c.city !== null) {
    const [where] = (await m.query(
      `SELECT coalesce((SELECT city FROM attractions WHERE id = $1), (SELECT city FROM merchants WHERE id = $2)) AS city`,
      [p.attractionId, p.merchantId],
    )) as { city: string | null }[];
    if (!where?.city || where.city.toLowerCase() !== c.city.toLowerCase())
      return reject(m, p, entered, 'COUPON_NOT_APPLICABLE', now);
  }
  const applied = discountFor(c, { lines: p.items, total: p.total, amountDue: p.amountDue });
  if (!applied.ok) return reject(m, p, entered, applied.reason, now);

  const isCodeUse = !coupon;
  const customer = coupon ? coupon.customer_reference : p.customerReference;
  if (isCodeUse && c.limits.perCustomer !== undefined && customer === null)
    return reject(m, p, entered, 'CUSTOMER_REFERENCE_REQUIRED', now);
  const refusal = limitCheck(
    c.limits,
    {
      redemptions: c.redemptions,
      budgetUsed: Number(c.budget_used),
      // counted only when a per-customer limit exists (limitCheck ignores it otherwise)
      customerUses: isCodeUse && c.limits.perCustomer !== undefined ? await customerUses(m, c.id, customer) : 0,
    },
    { slot: isCodeUse, cost: applied.discount },
  );
  if (refusal) return reject(m, p, entered, refusal, now);

  await m.query(
    `UPDATE campaigns SET redemptions = redemptions + $2, budget_used = budget_used + $3, updated_at = now() WHERE id = $1`,
    [c.id, isCodeUse ? 1 : 0, applied.discount],
  );
  const currency = p.total.currency;
  let couponId: string;
  if (coupon) {
    await m.query(
      `UPDATE coupons SET status = 'reserved', order_id = $2, discount_value = $3, discount_currency = $4, reserved_at = $5,
              updated_at = now()
       WHERE id = $1`,
      [coupon.id, p.orderId, applied.discount, currency, now],
    );
    couponId = coupon.id;
  } else {
    couponId = newId('coupon');
    await m.query(
      `INSERT INTO coupons (id, code, campaign_id, merchant_id, customer_reference, status, order_id, valid_to, trigger,
                            discount_value, discount_currency, reserved_at)
       VALUES ($1, $2, $3, $4, $5, 'reserved', $6, $7, 'code', $8, $9, $10)`,
      [couponId, generateCode(), c.id, c.merchant_id, customer, p.orderId, c.valid_to, applied.discount, currency, now],
    );
  }
  await m.query(`INSERT INTO coupon_answers (order_id, outcome, coupon_id) VALUES ($1, 'reserved', $2)`, [
    p.orderId,
    couponId,
  ]);
  await appendToOutbox(m, {
    type: 'coupon.reserved',
    aggregateId: p.orderId,
    merchantId: p.merchantId,
    payload: {
      orderId: p.orderId,
      merchantId: p.merchantId,
      couponId,
      campaignId: c.id,
      code: entered,
      discount: { value: applied.discount, currency },
      reservedAt: now.toISOString(),
    },
  });
}

/** Order paid → its reserved coupon is redeemed (once: only a `reserved` coupon moves). */
export async function redeemForOrder(m: EntityManager, orderId: string, now = new Date()): Promise<void> {
  await redeemForOrders(m, [orderId], now);
}

/**
 * The same for many paid orders in one statement (the consumer's batch handler for
 * `order.fulfilled`): coupons move in one UPDATE, their events are appended in the orders' order.
 */
export async function redeemForOrders(m: EntityManager, orderIds: string[], now = new Date()): Promise<void> {
  if (orderIds.length === 0) return;
  const rows = rowsOf<CouponRow>(
    await m.query(
      `UPDATE coupons SET status = 'redeemed', redeemed_at = $2, updated_at = now()
       WHERE order_id = ANY($1::text[]) AND status = 'reserved' RETURNING *`,
      [orderIds, now],
    ),
  );
  const position = new Map(orderIds.map((id, i) => [id, i] as const));
  rows.sort(
    (a, b) => (position.get(a.order_id ?? '') ?? 0) - (position.get(b.order_id ?? '') ?? 0) || a.id.localeCompare(b.id),
  );
  await appendManyToOutbox(
    m,
    rows.map((c) => ({
      type: 'coupon.redeemed' as const,
      aggregateId: c.id,
      merchantId: c.merchant_id,
      payload: {
        couponId: c.id,
        campaignId: c.campaign_id,
        merchantId: c.merchant_id,
        orderId: c.order_id ?? '',
        discount: { value: Number(c.discount_value ?? 0), currency: (c.discount_currency ?? 'CNY') as Currency },
        redeemedAt: now.toISOString(),
      },
    })),
  );
}

/**
 * Gives a coupon of an order back: `from` is the status it must be in (`reserved` on cancel or
 * expiry, `redeemed` on a full refund). The coupon row moves first under its row lock, guarded by
 * that status, so the counters are restored exactly once whatever is replayed. A code-campaign use
 * becomes `void` (its slot returns to the campaign); a personal coupon returns to its customer as
 * `issued` (or `expired` past its validity) and keeps its slot; its discount returns to the budget.
 */
export async function releaseForOrder(
  m: EntityManager,
  orderId: string,
  from: 'reserved' | 'redeemed',
  reason: 'cancelled' | 'expired' | 'refunded',
  now = new Date(),
): Promise<void> {
  const held = (await m.query(`SELECT id, campaign_id FROM coupons WHERE order_id = $1 AND status = $2 ORDER BY id`, [
    orderId,
    from,
  ])) as { id: string; campaign_id: string }[];
  const rows: {
    id: string;
    campaign_id: string;
    merchant_id: string;
    trigger: string;
    discount_value: string | null;
  }[] = [];
  for (const h of held) {
    await lockCampaign(m, h.campaign_id);
    const moved = rowsOf<(typeof rows)[number]>(
      await m.query(
        `WITH old AS (
         SELECT id, trigger, discount_value FROM coupons WHERE id = $1 AND order_id = $2 AND status = $3 FOR UPDATE
       )
       UPDATE coupons c
          SET status = CASE WHEN c.trigger = 'code' THEN 'void' WHEN c.valid_to <= $4 THEN 'expired' ELSE 'issued' END,
              order_id = CASE WHEN c.trigger = 'code' THEN c.order_id END,
              discount_value = NULL, discount_currency = NULL, released_at = $4, updated_at = now()
         FROM old WHERE c.id = old.id
       RETURNING c.id, c.campaign_id, c.merchant_id, old.trigger, old.discount_value`,
        [h.id, orderId, from, now],
      ),
    );
    rows.push(...moved);
  }
  for (const c of rows) {
    await m.query(
      `UPDATE campaigns SET redemptions = redemptions - $2, budget_used = budget_used - $3, updated_at = now() WHERE id = $1`,
      [c.campaign_id, c.trigger === 'code' ? 1 : 0, Number(c.discount_value ?? 0)],
    );
    await appendToOutbox(m, {
      type: 'coupon.released',
      aggregateId: c.id,
      merchantId: c.merchant_id,
      payload: {
        couponId: c.id,
        campaignId: c.campaign_id,
        merchantId: c.merchant_id,
        orderId,
        reason,
        releasedAt: now.toISOString(),
      },
    });
  }
}

/** Every active post-purchase campaign matching a purchase issues its coupon to the buyer, within limits. */
export async function issueAfterPurchase(
  m: EntityManager,
  p: EventPayload<'tickets.issued'>,
  now = new Date(),
): Promise<string[]> {
  if (p.customerReference === null) return [];
  const kinds = [...new Set(p.tickets.map((t) => t.productKind))];
  const candidates = (await m.query(
    `SELECT id FROM campaigns
     WHERE merchant_id = $1 AND trigger = 'post_purchase' AND status = 'active'
       AND valid_from <= $2 AND valid_to > $2
       AND (city IS NULL OR lower(city) = lower($3))
       AND (cardinality(attraction_ids) = 0 OR $4 = ANY(attraction_ids))
       AND (NOT (conditions ? 'productKinds') OR EXISTS (
             SELECT 1 FROM jsonb_array_elements_text(conditions->'productKinds') k WHERE k = ANY($5::text[])))
       AND (NOT (conditions ? 'minSpend') OR (conditions->'minSpend'->>'currency' = $6
             AND (conditions->'minSpend'->>'value')::bigint <= $7))
     ORDER BY id`,
    [p.merchantId, now, p.city, p.attractionId, kinds, p.amountPaid.currency, p.amountPaid.value],
  )) as { id: string }[];
  const issued: string[] = [];
  for (const { id } of candidates) {
    const c = await lockCampaign(m, id);
    if (!c) continue;
    const r = await issueCoupon(m, c, p.customerReference, 'post_purchase', p.orderId, now);
    if (r.ok) issued.push(r.coupon.id);
  }
  return issued;
}
