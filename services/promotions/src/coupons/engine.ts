import type { EntityManager } from 'typeorm';
import { newId, type Currency, type EventPayload, type EventType } from '@admit/contracts';
import { appendManyToOutbox, appendToOutbox, type NewEvent } from '@admit/messaging';
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
  await reserveForOrders(m, [p], now);
}

const enteredCode = (p: Placed): string => (p.couponCode ?? '').trim().toUpperCase();
const wellFormed = (code: string): boolean => code.length > 0 && code.length <= 64;
const codeKey = (merchantId: string, code: string): string => `${merchantId}\u0000${code}`;

/**
 * The same for a run of placed orders (the consumer's batch handler for `order.placed`), with the
 * result of reserving for each order in turn. A code that is a personal coupon's (claimed or
 * post-purchase) is reserved by `reservePersonal`, one order at a time; the orders between two
 * of those are uses of code campaigns, decided together by `reserveCodeUses`.
 */
export async function reserveForOrders(m: EntityManager, ps: Placed[], now = new Date()): Promise<void> {
  const withCode = ps.filter((p) => p.couponCode !== null);
  if (withCode.length === 0) return;
  const codes = [...new Set(withCode.map(enteredCode).filter(wellFormed))];
  // Personal coupons' codes, with the campaign whose lock each takes.
  const personal = new Map(
    (
      (await m.query(`SELECT code, merchant_id, campaign_id FROM coupons WHERE code = ANY($1::text[])`, [codes])) as {
        code: string;
        merchant_id: string;
        campaign_id: string;
      }[]
    ).map((r) => [codeKey(r.merchant_id, r.code), r.campaign_id]),
  );
  let uses: Placed[] = [];
  for (const p of withCode) {
    const entered = enteredCode(p);
    const campaignId = wellFormed(entered) ? personal.get(codeKey(p.merchantId, entered)) : undefined;
    if (campaignId) {
      await reserveCodeUses(m, uses, now);
      uses = [];
      await reservePersonal(m, p, entered, campaignId, now);
    } else uses.push(p);
  }
  await reserveCodeUses(m, uses, now);
}

/** A personal coupon's code: the coupon row decides, under its campaign's lock. */
async function reservePersonal(
  m: EntityManager,
  p: Placed,
  entered: string,
  campaignId: string,
  now: Date,
): Promise<void> {
  // Lock order everywhere: the campaign row, then the coupon row (no deadlock between saga steps
  // and claims of one campaign).
  const c = (await lockCampaign(m, campaignId))!;
  const [coupon] = (await m.query(`SELECT * FROM coupons WHERE code = $1 FOR UPDATE`, [entered])) as CouponRow[];
  if (!coupon || coupon.status !== 'issued')
    return reject(m, p, entered, coupon?.status === 'expired' ? 'COUPON_EXPIRED' : 'COUPON_ALREADY_USED', now);
  if (new Date(coupon.valid_to) <= now) return reject(m, p, entered, 'COUPON_EXPIRED', now);
  const city = c.city === null ? null : await placeCities(m, [p]);
  const refusal = campaignRefusal(c, p, city?.get(p.orderId) ?? null, now);
  if (refusal) return reject(m, p, entered, refusal, now);
  const applied = discountFor(c, { lines: p.items, total: p.total, amountDue: p.amountDue });
  if (!applied.ok) return reject(m, p, entered, applied.reason, now);
  // A personal coupon already holds its slot: only its discount counts against the budget.
  const limit = limitCheck(
    c.limits,
    { redemptions: c.redemptions, budgetUsed: Number(c.budget_used), customerUses: 0 },
    { slot: false, cost: applied.discount },
  );
  if (limit) return reject(m, p, entered, limit, now);
  await m.query(`UPDATE campaigns SET budget_used = budget_used + $2, updated_at = now() WHERE id = $1`, [
    c.id,
    applied.discount,
  ]);
  const currency = p.total.currency;
  await m.query(
    `UPDATE coupons SET status = 'reserved', order_id = $2, discount_value = $3, discount_currency = $4, reserved_at = $5,
            updated_at = now()
     WHERE id = $1`,
    [coupon.id, p.orderId, applied.discount, currency, now],
  );
  await m.query(`INSERT INTO coupon_answers (order_id, outcome, coupon_id) VALUES ($1, 'reserved', $2)`, [
    p.orderId,
    coupon.id,
  ]);
  await appendToOutbox(m, reservedEvent(p, coupon.id, c.id, entered, applied.discount, now));
}

/** Why a campaign does not apply to an order (status, validity, attraction, city), or null. */
function campaignRefusal(c: CampaignRow, p: Placed, city: string | null, now: Date): string | null {
  if (c.status !== 'active') return 'CAMPAIGN_PAUSED';
  if (new Date(c.valid_from) > now) return 'COUPON_NOT_YET_VALID';
  if (new Date(c.valid_to) <= now) return 'COUPON_EXPIRED';
  if (c.attraction_ids.length > 0 && !c.attraction_ids.includes(p.attractionId)) return 'COUPON_NOT_APPLICABLE';
  if (c.city !== null && (!city || city.toLowerCase() !== c.city.toLowerCase())) return 'COUPON_NOT_APPLICABLE';
  return null;
}

/** The city of each order's place: its attraction's, else its merchant's (per order id). */
async function placeCities(m: EntityManager, ps: Placed[]): Promise<Map<string, string | null>> {
  const attractions = new Map(
    (
      (await m.query(`SELECT id, city FROM attractions WHERE id = ANY($1::text[])`, [
        [...new Set(ps.map((p) => p.attractionId))],
      ])) as { id: string; city: string | null }[]
    ).map((r) => [r.id, r.city]),
  );
  const merchants = new Map(
    (
      (await m.query(`SELECT id, city FROM merchants WHERE id = ANY($1::text[])`, [
        [...new Set(ps.map((p) => p.merchantId))],
      ])) as { id: string; city: string | null }[]
    ).map((r) => [r.id, r.city]),
  );
  return new Map(ps.map((p) => [p.orderId, attractions.get(p.attractionId) ?? merchants.get(p.merchantId) ?? null]));
}

function reservedEvent(p: Placed, couponId: string, campaignId: string, code: string, discount: number, now: Date) {
  return {
    type: 'coupon.reserved' as const,
    aggregateId: p.orderId,
    merchantId: p.merchantId,
    payload: {
      orderId: p.orderId,
      merchantId: p.merchantId,
      couponId,
      campaignId,
      code,
      discount: { value: discount, currency: p.total.currency },
      reservedAt: now.toISOString(),
    },
  };
}

function rejectedEvent(p: Placed, code: string, reason: string, now: Date) {
  return {
    type: 'coupon.rejected' as const,
    aggregateId: p.orderId,
    merchantId: p.merchantId,
    payload: { orderId: p.orderId, merchantId: p.merchantId, code, reason, rejectedAt: now.toISOString() },
  };
}

/**
 * Uses of code campaigns, decided in the orders' order under one lock of their campaigns (taken in
 * id order): the checks of a single reservation run in memory against counters that move with
 * each accepted use (redemptions, budget, the customer's coupons), then each table is written with
 * one statement: the campaigns' counters, the new coupons, the answers, and the events.
 */
async function reserveCodeUses(m: EntityManager, ps: Placed[], now: Date): Promise<void> {
  if (ps.length === 0) return;
  const codes = [...new Set(ps.map(enteredCode).filter(wellFormed))];
  const campaignOf = new Map(
    (
      (await m.query(
        `SELECT id, merchant_id, upper(code) AS code FROM campaigns
          WHERE trigger = 'code' AND merchant_id = ANY($1::text[]) AND upper(code) = ANY($2::text[])`,
        [[...new Set(ps.map((p) => p.merchantId))], codes],
      )) as { id: string; merchant_id: string; code: string }[]
    ).map((r) => [codeKey(r.merchant_id, r.code), r.id]),
  );
  const campaigns = new Map(
    (
      (await m.query(`SELECT * FROM campaigns WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, [
        [...new Set(campaignOf.values())].sort(),
      ])) as CampaignRow[]
    ).map((c) => [c.id, { row: c, redemptions: c.redemptions, budgetUsed: Number(c.budget_used), taken: 0, spent: 0 }]),
  );
  const campaignFor = (p: Placed) => campaigns.get(campaignOf.get(codeKey(p.merchantId, enteredCode(p))) ?? '');
  const needCity = ps.filter((p) => (campaignFor(p)?.row.city ?? null) !== null);
  const cities = needCity.length > 0 ? await placeCities(m, needCity) : new Map<string, string | null>();
  const perCustomer = ps.filter((p) => campaignFor(p)?.row.limits.perCustomer !== undefined && p.customerReference);
  const customerUses = new Map<string, number>();
  if (perCustomer.length > 0) {
    const counted = (await m.query(
      `SELECT campaign_id, customer_reference, count(*)::int AS n FROM coupons
        WHERE campaign_id = ANY($1::text[]) AND customer_reference = ANY($2::text[]) AND status <> 'void'
        GROUP BY 1, 2`,
      [
        [...new Set(perCustomer.map((p) => campaignFor(p)?.row.id ?? ''))],
        [...new Set(perCustomer.map((p) => p.customerReference ?? ''))],
      ],
    )) as { campaign_id: string; customer_reference: string; n: number }[];
    for (const r of counted) customerUses.set(codeKey(r.campaign_id, r.customer_reference), r.n);
  }

  const answers: {
    orderId: string;
    outcome: 'reserved' | 'rejected';
    couponId: string | null;
    reason: string | null;
  }[] = [];
  const coupons: (string | number | Date | null)[][] = [[], [], [], [], [], [], [], [], []];
  const events: NewEvent<EventType>[] = [];
  const refuse = (p: Placed, code: string, reason: string) => {
    answers.push({ orderId: p.orderId, outcome: 'rejected', couponId: null, reason });
    events.push(rejectedEvent(p, code, reason, now));
  };
  for (const p of ps) {
    const entered = enteredCode(p);
    if (!wellFormed(entered)) {
      refuse(p, p.couponCode ?? '', 'COUPON_UNKNOWN');
      continue;
    }
    const state = campaignFor(p);
    if (!state) {
      refuse(p, entered, 'COUPON_UNKNOWN');
      continue;
    }
    const c = state.row;
    const refusal = campaignRefusal(c, p, cities.get(p.orderId) ?? null, now);
    if (refusal) {
      refuse(p, entered, refusal);
      continue;
    }
    const applied = discountFor(c, { lines: p.items, total: p.total, amountDue: p.amountDue });
    if (!applied.ok) {
      refuse(p, entered, applied.reason);
      continue;
    }
    const customer = p.customerReference;
    if (c.limits.perCustomer !== undefined && customer === null) {
      refuse(p, entered, 'CUSTOMER_REFERENCE_REQUIRED');
      continue;
    }
    const usesKey = codeKey(c.id, customer ?? '');
    const limit = limitCheck(
      c.limits,
      {
        redemptions: state.redemptions,
        budgetUsed: state.budgetUsed,
        customerUses: c.limits.perCustomer !== undefined ? (customerUses.get(usesKey) ?? 0) : 0,
      },
      { slot: true, cost: applied.discount },
    );
    if (limit) {
      refuse(p, entered, limit);
      continue;
    }
    state.redemptions += 1;
    state.budgetUsed += applied.discount;
    state.taken += 1;
    state.spent += applied.discount;
    if (customer !== null) customerUses.set(usesKey, (customerUses.get(usesKey) ?? 0) + 1);
    const couponId = newId('coupon');
    [
      couponId,
      generateCode(),
      c.id,
      c.merchant_id,
      customer,
      p.orderId,
      c.valid_to,
      applied.discount,
      p.total.currency,
    ].forEach((v, i) => coupons[i]?.push(v));
    answers.push({ orderId: p.orderId, outcome: 'reserved', couponId, reason: null });
    events.push(reservedEvent(p, couponId, c.id, entered, applied.discount, now));
  }

  const moved = [...campaigns.values()].filter((s) => s.taken > 0);
  if (moved.length > 0)
    await m.query(
      `UPDATE campaigns c SET redemptions = c.redemptions + d.taken, budget_used = c.budget_used + d.spent, updated_at = now()
         FROM unnest($1::text[], $2::int[], $3::bigint[]) AS d(id, taken, spent) WHERE c.id = d.id`,
      [moved.map((s) => s.row.id), moved.map((s) => s.taken), moved.map((s) => s.spent)],
    );
  if ((coupons[0]?.length ?? 0) > 0)
    await m.query(
      `INSERT INTO coupons (id, code, campaign_id, merchant_id, customer_reference, status, order_id, valid_to, trigger,
                            discount_value, discount_currency, reserved_at)
       SELECT n.id, n.code, n.campaign_id, n.merchant_id, n.customer_reference, 'reserved', n.order_id, n.valid_to, 'code',
              n.discount_value, n.discount_currency, $10
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::bigint[], $9::text[])
              WITH ORDINALITY AS n(id, code, campaign_id, merchant_id, customer_reference, order_id, valid_to, discount_value, discount_currency, k)
        ORDER BY n.k`,
      [...coupons, now],
    );
  await m.query(
    `INSERT INTO coupon_answers (order_id, outcome, coupon_id, reason)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
    [
      answers.map((a) => a.orderId),
      answers.map((a) => a.outcome),
      answers.map((a) => a.couponId),
      answers.map((a) => a.reason),
    ],
  );
  await appendManyToOutbox(m, events);
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
