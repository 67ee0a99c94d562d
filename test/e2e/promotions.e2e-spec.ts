import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { HEADERS, newId, payloadSchema, topicOf, type EventPayload, type EventType } from '@admit/contracts';
import { call, eventually, paymentCode, startStack, type Stack } from '@admit/testing';

/**
 * Promotions on the real stack: campaigns, claims and their limits (also under 500 concurrent
 * claims), and promotions' side of the coupon saga driven by `order.placed` / `order.fulfilled` /
 * `order.closed` / `order.refunded` / `tickets.issued` events this test publishes itself on the
 * real topics (envelopes built like the outbox writer does). Answers are read from promotions'
 * outbox (what it published on `coupons`: the topic is shared by every stack's promotions, whose
 * answers to these orders would be noise) and checked to have arrived on the topic.
 */
jest.setTimeout(180_000);

const BROKERS = [process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092'];

type Answer = { eventId: string; type: string; key: string; payload: Record<string, any> };

describe('promotions end to end', () => {
  let stack: Stack;
  let url: string;
  let key: string;
  let merchantId: string;
  let producer: Producer;
  let reader: Consumer;
  const seenOnTopic = new Set<string>();
  const attractionId = newId('attraction');

  beforeAll(async () => {
    stack = await startStack({
      name: 'e2e_promo',
      portBase: 19700,
      env: { PROMOTIONS_PUBLIC_RATE_LIMIT: '100000' },
    });
    url = stack.urls.promotions;
    const onboard = await call('POST', `${stack.urls.payment}/v1/merchants`, {
      key: stack.acquirerKey,
      body: {
        name: 'Lingyin Temple',
        country: 'CN',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7991',
        settlementCurrency: 'CNY',
      },
    });
    expect(onboard.status).toBe(201);
    key = onboard.body.apiKey.secret;
    merchantId = onboard.body.id;
    await eventually(
      () => call('GET', `${url}/v1/campaigns`, { key }),
      (r) => r.status === 200,
      150_000,
      500,
    );
    const kafka = new Kafka({ clientId: 'e2e-promo', brokers: BROKERS, logLevel: logLevel.NOTHING });
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    reader = kafka.consumer({ groupId: `e2e-promo-reader-${randomUUID()}`, allowAutoTopicCreation: false });
    await reader.connect();
    await reader.subscribe({ topics: ['coupons'], fromBeginning: false });
    const joined = new Promise<void>((resolve) => reader.on(reader.events.GROUP_JOIN, () => resolve()));
    await reader.run({
      eachMessage: async ({ message }) => {
        const id = message.headers?.[HEADERS.eventId]?.toString();
        if (id) seenOnTopic.add(id);
      },
    });
    await joined;
    // The attraction as ticketing announces it (promotions reads its city and time zone).
    await publish('attraction.created', attractionId, {
      attractionId,
      merchantId,
      name: 'Lingyin Temple',
      city: 'Hangzhou',
      timezone: 'Asia/Shanghai',
      createdAt: new Date().toISOString(),
    });
  }, 180_000);

  afterAll(async () => {
    await reader?.disconnect().catch(() => undefined);
    await producer?.disconnect().catch(() => undefined);
    await stack?.stop();
  });

  async function publish<T extends EventType>(type: T, aggregateId: string, ...payloads: EventPayload<T>[]) {
    await producer.send({
      topic: topicOf(type),
      messages: payloads.map((payload) => {
        const parsed = payloadSchema(type, 1)!.parse(payload);
        const eventId = randomUUID();
        const correlationId = randomUUID();
        const id = (payload as { orderId?: string }).orderId ?? aggregateId;
        return {
          key: id,
          value: JSON.stringify({
            eventId,
            type,
            schemaVersion: 1,
            occurredAt: new Date().toISOString(),
            merchantId,
            correlationId,
            causationId: null,
            aggregateType: type === 'attraction.created' ? 'attraction' : 'order',
            aggregateId: id,
            payload: parsed,
          }),
          headers: {
            [HEADERS.eventId]: eventId,
            [HEADERS.eventType]: type,
            [HEADERS.schemaVersion]: '1',
            [HEADERS.correlationId]: correlationId,
          },
        };
      }),
    });
  }

  function placed(code: string | null, total = 10000, extra: Partial<EventPayload<'order.placed'>> = {}) {
    const orderId = newId('order');
    const p: EventPayload<'order.placed'> = {
      orderId,
      merchantId,
      attractionId,
      channel: 'counter',
      items: [
        {
          productId: newId('product'),
          productKind: 'admission',
          slotId: null,
          quantity: 1,
          unitPrice: { value: total, currency: 'CNY' },
        },
      ],
      total: { value: total, currency: 'CNY' },
      amountDue: { value: total, currency: 'CNY' },
      couponCode: code,
      customerReference: null,
      holdExpiresAt: new Date(Date.now() + 600_000).toISOString(),
      placedAt: new Date().toISOString(),
      ...extra,
    };
    return p;
  }

  async function answers(where = 'true'): Promise<Answer[]> {
    const rows = await stack.query<{ event_id: string; message_key: string; value: string }>(
      'promotions',
      `SELECT event_id::text, message_key, value FROM outbox_events WHERE topic = 'coupons' AND ${where} ORDER BY id`,
    );
    return rows.map((r) => {
      const v = JSON.parse(r.value);
      return { eventId: r.event_id, type: v.type, key: r.message_key, payload: v.payload };
    });
  }

  async function answersFor(orderIds: string[], timeoutMs = 60_000): Promise<Map<string, Answer[]>> {
    const want = new Set(orderIds);
    let by = new Map<string, Answer[]>();
    await eventually(
      async () => {
        by = new Map();
        for (const a of await answers(`value::jsonb->>'type' IN ('coupon.reserved', 'coupon.rejected')`)) {
          if (!want.has(a.key)) continue;
          by.set(a.key, [...(by.get(a.key) ?? []), a]);
        }
        return by.size;
      },
      (n) => n === want.size,
      timeoutMs,
      300,
    );
    return by;
  }

  async function campaign(body: Record<string, unknown>) {
    const r = await call('POST', `${url}/v1/campaigns`, {
      key,
      body: { validFrom: '2026-01-01', validTo: '2030-12-31', ...body },
    });
    expect(r.status).toBe(201);
    return r.body;
  }

  async function counters(id: string) {
    const [c] = await stack.query<{ redemptions: number; budget_used: string }>(
      'promotions',
      `SELECT redemptions, budget_used::text FROM campaigns WHERE id = $1`,
      [id],
    );
    const [rows] = await stack.query<{ slots: number; budget: string }>(
      'promotions',
      `SELECT count(*) FILTER (WHERE status <> 'void')::int AS slots,
              coalesce(sum(discount_value) FILTER (WHERE status IN ('reserved', 'redeemed')), 0)::text AS budget
       FROM coupons WHERE campaign_id = $1`,
      [id],
    );
    return {
      redemptions: c!.redemptions,
      budgetUsed: Number(c!.budget_used),
      rowSlots: rows!.slots,
      rowBudget: Number(rows!.budget),
    };
  }

  it('creates, lists, edits, pauses and resumes campaigns; validates every field', async () => {
    const body = {
      name: 'Spring 10%',
      trigger: 'code',
      discount: { percentOff: 10 },
      validFrom: '2026-03-01',
      validTo: '2026-05-31',
      limits: { totalRedemptions: 1000, budget: { value: 500000, currency: 'CNY' } },
    };
    const created = await call('POST', `${url}/v1/campaigns`, {
      key,
      body,
      headers: { 'idempotency-key': 'spring-1' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.stringMatching(/^cmp_/),
      status: 'active',
      redemptions: 0,
      budgetUsed: { value: 0, currency: 'CNY' },
      stacking: 'exclusive',
      code: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/),
      // Local dates in the merchant's time zone (Asia/Shanghai); validTo is the end of its day.
      validFrom: '2026-02-28T16:00:00.000Z',
      validTo: '2026-05-31T16:00:00.000Z',
      timezone: 'Asia/Shanghai',
    });
    const replay = await call('POST', `${url}/v1/campaigns`, { key, body, headers: { 'idempotency-key': 'spring-1' } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(created.body.id);

    const own = await campaign({
      name: 'Own code',
      trigger: 'code',
      code: 'welcome-2026',
      discount: { percentOff: 5 },
    });
    expect(own.code).toBe('WELCOME-2026');
    const taken = await call('POST', `${url}/v1/campaigns`, {
      key,
      body: {
        name: 'x',
        trigger: 'code',
        code: 'Welcome-2026',
        discount: { percentOff: 5 },
        validFrom: '2026-01-01',
        validTo: '2027-01-01',
      },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('CODE_TAKEN');

    const bad = await call('POST', `${url}/v1/campaigns`, {
      key,
      body: {
        name: '',
        trigger: 'claim',
        discount: { amountOff: { value: 0, currency: 'XXX' } },
        validFrom: '2026-05-01',
        validTo: '2026-04-01',
        limits: { perCustomer: 0 },
      },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    const fields = (bad.body.error.details as { field: string }[]).map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'limits.perCustomer']));
    const window = await call('POST', `${url}/v1/campaigns`, {
      key,
      body: { name: 'w', trigger: 'code', discount: { percentOff: 5 }, validFrom: '2026-05-01', validTo: '2026-04-01' },
    });
    expect(window.status).toBe(400);
    expect(window.body.error.details[0].field).toBe('validTo');

    const paused = await call('PATCH', `${url}/v1/campaigns/${created.body.id}`, {
      key,
      body: { status: 'paused', name: 'Spring' },
    });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ status: 'paused', name: 'Spring', code: created.body.code });
    const resumed = await call('PATCH', `${url}/v1/campaigns/${created.body.id}`, { key, body: { status: 'active' } });
    expect(resumed.body.status).toBe('active');
    expect((await call('PATCH', `${url}/v1/campaigns/${created.body.id}`, { key, body: {} })).status).toBe(400);
    expect(
      (await call('PATCH', `${url}/v1/campaigns/${newId('campaign')}`, { key, body: { status: 'paused' } })).status,
    ).toBe(404);
    expect((await call('PATCH', `${url}/v1/campaigns/nope`, { key, body: { status: 'paused' } })).status).toBe(404);

    const list = await call('GET', `${url}/v1/campaigns?trigger=code&limit=100`, { key });
    expect(list.status).toBe(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toEqual(expect.arrayContaining([created.body.id, own.id]));
    expect((await call('GET', `${url}/v1/campaigns`)).status).toBe(401);
  });

  it('claims enforce per-customer and total limits; offers and the offers page list what is left', async () => {
    const c = await campaign({
      name: 'Tea house 20% <b>',
      trigger: 'claim',
      city: 'Hangzhou',
      discount: { percentOff: 20 },
      limits: { totalRedemptions: 3, perCustomer: 1 },
    });
    const claim = (customerReference: string, campaignId = c.id) =>
      call('POST', `${url}/v1/coupons/claim`, { body: { campaignId, customerReference } });

    const offers = await call('GET', `${url}/v1/offers?city=hangzhou`);
    expect(offers.status).toBe(200);
    expect(offers.body.data).toEqual(
      expect.arrayContaining([expect.objectContaining({ campaignId: c.id, remaining: 3 })]),
    );

    const a = await claim('visitor-a');
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({
      campaignId: c.id,
      status: 'issued',
      customerReference: 'visitor-a',
      code: expect.stringMatching(/^\w{5}-\w{5}$/),
    });
    expect((await claim('visitor-a')).body.error.code).toBe('CUSTOMER_LIMIT_REACHED');
    expect((await claim('visitor-b')).status).toBe(201);
    expect((await claim('visitor-c')).status).toBe(201);
    const d = await claim('visitor-d');
    expect(d.status).toBe(409);
    expect(d.body.error.code).toBe('CAMPAIGN_EXHAUSTED');
    expect((await claim('visitor-e', newId('campaign'))).status).toBe(404);
    expect((await call('POST', `${url}/v1/coupons/claim`, { body: { campaignId: c.id } })).status).toBe(400);

    const mine = await call('GET', `${url}/v1/coupons?customerReference=visitor-a`, { key });
    expect(mine.body.data).toEqual([expect.objectContaining({ id: a.body.id, code: a.body.code })]);
    const after = await call('GET', `${url}/v1/offers?city=Hangzhou`);
    expect(after.body.data.map((o: { campaignId: string }) => o.campaignId)).not.toContain(c.id);

    const other = await campaign({
      name: 'Silk museum shop',
      trigger: 'claim',
      city: 'Hangzhou',
      discount: { amountOff: { value: 1500, currency: 'CNY' } },
    });
    const page = await fetch(`${url}/offers?city=Hangzhou`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('name="viewport"');
    expect(html).toContain(`data-campaign-id="${other.id}"`);
    expect(html).toContain('CNY 15.00 off');
    expect(html).not.toContain('<b>');
    expect((await fetch(`${url}/offers`)).status).toBe(400);

    // The coupon.issued facts reached the coupons topic.
    const issued = await answers(`value::jsonb->>'type' = 'coupon.issued'`);
    await eventually(async () => issued.every((e) => seenOnTopic.has(e.eventId)), Boolean);
  });

  it('500 concurrent claims on a campaign limited to 100 issue exactly 100', async () => {
    const c = await campaign({
      name: 'First hundred',
      trigger: 'claim',
      city: 'Hangzhou',
      discount: { percentOff: 30 },
      limits: { totalRedemptions: 100 },
    });
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        call('POST', `${url}/v1/coupons/claim`, { body: { campaignId: c.id, customerReference: `crowd-${i}` } }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(100);
    expect(statuses.filter((s) => s === 409)).toHaveLength(400);
    expect(replies.filter((r) => r.status === 409).every((r) => r.body.error.code === 'CAMPAIGN_EXHAUSTED')).toBe(true);
    const k = await counters(c.id);
    expect(k).toMatchObject({ redemptions: 100, rowSlots: 100 });
  });

  it('per-customer limit holds under concurrent claims of one visitor', async () => {
    const c = await campaign({
      name: 'Two each',
      trigger: 'claim',
      city: 'Hangzhou',
      discount: { percentOff: 5 },
      limits: { perCustomer: 2 },
    });
    const replies = await Promise.all(
      Array.from({ length: 50 }, () =>
        call('POST', `${url}/v1/coupons/claim`, { body: { campaignId: c.id, customerReference: 'greedy' } }),
      ),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(2);
    expect(replies.filter((r) => r.status === 409).every((r) => r.body.error.code === 'CUSTOMER_LIMIT_REACHED')).toBe(
      true,
    );
  });

  it('saga: reserve with the discount, redeem when fulfilled, release once when closed, release on full refund', async () => {
    const c = await campaign({
      name: 'Ten percent',
      trigger: 'code',
      code: 'TENOFF',
      discount: { percentOff: 12.5 },
      limits: { totalRedemptions: 10, budget: { value: 100000, currency: 'CNY' } },
    });
    const paid = placed('tenoff', 9999);
    const cancelled = placed('TENOFF', 5000);
    const refunded = placed('TENOFF', 8000);
    const unknown = placed('NOSUCHCODE');
    const tooSmall = placed('TENOFF', 0 + 1, {
      items: [
        {
          productId: newId('product'),
          productKind: 'admission',
          slotId: null,
          quantity: 1,
          unitPrice: { value: 1, currency: 'CNY' },
        },
      ],
    });
    await publish('order.placed', '', paid, cancelled, refunded, unknown, tooSmall);
    const by = await answersFor([paid.orderId, cancelled.orderId, refunded.orderId, unknown.orderId, tooSmall.orderId]);
    const one = (id: string) => {
      const list = by.get(id)!;
      expect(list).toHaveLength(1);
      return list[0]!;
    };
    expect(one(paid.orderId)).toMatchObject({
      type: 'coupon.reserved',
      payload: { campaignId: c.id, code: 'TENOFF', discount: { value: 1250, currency: 'CNY' } },
    });
    expect(one(cancelled.orderId).payload.discount.value).toBe(625);
    expect(one(refunded.orderId).payload.discount.value).toBe(1000);
    expect(one(unknown.orderId)).toMatchObject({ type: 'coupon.rejected', payload: { reason: 'COUPON_UNKNOWN' } });
    expect(one(tooSmall.orderId)).toMatchObject({ type: 'coupon.reserved', payload: { discount: { value: 0 } } });
    expect(await counters(c.id)).toMatchObject({ redemptions: 4, budgetUsed: 1250 + 625 + 1000 });

    const now = new Date().toISOString();
    const fulfilled = (o: EventPayload<'order.placed'>) => ({
      orderId: o.orderId,
      merchantId,
      attractionId,
      paymentId: newId('payment'),
      amountPaid: { value: o.total.value, currency: 'CNY' as const },
      ticketCount: 1,
      fulfilledAt: now,
    });
    await publish('order.fulfilled', '', fulfilled(paid), fulfilled(refunded));
    const closed = { orderId: cancelled.orderId, merchantId, reason: 'cancelled' as const, closedAt: now };
    await publish('order.closed', '', closed, closed); // a duplicate close (new event id) releases nothing more
    await eventually(
      () => answers(`value::jsonb->>'type' IN ('coupon.redeemed', 'coupon.released')`),
      (a) =>
        a.filter((e) => [paid.orderId, refunded.orderId, cancelled.orderId].includes(e.payload.orderId)).length === 3,
    );
    const refund = (fullyRefunded: boolean) => ({
      orderId: refunded.orderId,
      merchantId,
      paymentId: newId('payment'),
      refundId: newId('refund'),
      amount: { value: 8000, currency: 'CNY' as const },
      refundedTotal: { value: 8000, currency: 'CNY' as const },
      fullyRefunded,
      voidedTicketIds: [],
      refundedAt: now,
    });
    await publish('order.refunded', '', refund(false));
    await publish('order.refunded', '', refund(true));
    await eventually(
      () =>
        answers(
          `value::jsonb->>'type' = 'coupon.released' AND value::jsonb->'payload'->>'orderId' = '${refunded.orderId}'`,
        ),
      (a) => a.length === 1,
    );
    await new Promise((r) => setTimeout(r, 1500)); // let the duplicates be processed too
    const life = await answers(`value::jsonb->>'type' IN ('coupon.redeemed', 'coupon.released')`);
    const of = (orderId: string) =>
      life.filter((e) => e.payload.orderId === orderId).map((e) => `${e.type}:${e.payload.reason ?? ''}`);
    expect(of(paid.orderId)).toEqual(['coupon.redeemed:']);
    expect(of(cancelled.orderId)).toEqual(['coupon.released:cancelled']);
    expect(of(refunded.orderId)).toEqual(['coupon.redeemed:', 'coupon.released:refunded']);
    // Restored exactly once: only the paid order's use and discount remain (and the 1-cent order's 0).
    expect(await counters(c.id)).toEqual({ redemptions: 2, budgetUsed: 1250, rowSlots: 2, rowBudget: 1250 });
    await eventually(async () => life.every((e) => seenOnTopic.has(e.eventId)), Boolean);
  });

  it('saga: a claimed coupon is single-use, stacking and conditions are checked', async () => {
    const c = await campaign({
      name: 'Restaurant 50',
      trigger: 'claim',
      city: 'Hangzhou',
      discount: { amountOff: { value: 5000, currency: 'CNY' } },
      conditions: { productKinds: ['restaurant'], minSpend: { value: 6000, currency: 'CNY' } },
      stacking: 'stackable',
    });
    const coupon = (
      await call('POST', `${url}/v1/coupons/claim`, { body: { campaignId: c.id, customerReference: 'diner' } })
    ).body;
    const lines = (adm: number, rest: number) => [
      {
        productId: newId('product'),
        productKind: 'admission' as const,
        slotId: null,
        quantity: 1,
        unitPrice: { value: adm, currency: 'CNY' as const },
      },
      {
        productId: newId('product'),
        productKind: 'restaurant' as const,
        slotId: null,
        quantity: 1,
        unitPrice: { value: rest, currency: 'CNY' as const },
      },
    ];
    const small = placed(coupon.code, 5000, { items: lines(2000, 3000) }); // under min spend
    const noRestaurant = placed(coupon.code, 8000);
    const ok = placed(coupon.code.toLowerCase(), 10000, {
      items: lines(6000, 4000),
      amountDue: { value: 9000, currency: 'CNY' },
    });
    await publish('order.placed', '', small);
    await answersFor([small.orderId]);
    await publish('order.placed', '', noRestaurant);
    await answersFor([noRestaurant.orderId]);
    await publish('order.placed', '', ok);
    await answersFor([ok.orderId]);
    const again = placed(coupon.code, 10000, { items: lines(6000, 4000) });
    await publish('order.placed', '', again);
    const by = await answersFor([small.orderId, noRestaurant.orderId, ok.orderId, again.orderId]);
    expect(by.get(small.orderId)![0]!.payload.reason).toBe('MIN_SPEND_NOT_MET');
    expect(by.get(noRestaurant.orderId)![0]!.payload.reason).toBe('COUPON_NOT_APPLICABLE');
    // Stackable on an order already discounted by 1000: the restaurant line (4000) caps the 5000 off.
    expect(by.get(ok.orderId)![0]).toMatchObject({
      type: 'coupon.reserved',
      payload: { couponId: coupon.id, discount: { value: 4000 } },
    });
    expect(by.get(again.orderId)![0]!.payload.reason).toBe('COUPON_ALREADY_USED');

    const exclusive = await campaign({
      name: 'Exclusive',
      trigger: 'code',
      code: 'ONLYME',
      discount: { percentOff: 10 },
    });
    const discounted = placed('ONLYME', 10000, { amountDue: { value: 9000, currency: 'CNY' } });
    const paused = await campaign({
      name: 'Paused',
      trigger: 'code',
      code: 'SLEEPING',
      discount: { percentOff: 10 },
      status: 'paused',
    });
    const sleeping = placed('SLEEPING');
    await publish('order.placed', '', discounted, sleeping);
    const by2 = await answersFor([discounted.orderId, sleeping.orderId]);
    expect(by2.get(discounted.orderId)![0]!.payload.reason).toBe('NOT_STACKABLE');
    expect(by2.get(sleeping.orderId)![0]!.payload.reason).toBe('CAMPAIGN_PAUSED');
    expect(exclusive.stacking).toBe('exclusive');
    expect(paused.status).toBe('paused');
  });

  it('300 concurrent orders with one single-use code: exactly one reserved', async () => {
    const c = await campaign({
      name: 'Single use',
      trigger: 'code',
      code: 'ONCE-ONLY',
      discount: { amountOff: { value: 2000, currency: 'CNY' } },
      limits: { totalRedemptions: 1 },
    });
    const orders = Array.from({ length: 300 }, () => placed('ONCE-ONLY'));
    await Promise.all([0, 1, 2].map((k) => publish('order.placed', '', ...orders.filter((_, i) => i % 3 === k))));
    const by = await answersFor(
      orders.map((o) => o.orderId),
      120_000,
    );
    const all = [...by.values()].map((l) => {
      expect(l).toHaveLength(1);
      return l[0]!;
    });
    expect(all.filter((a) => a.type === 'coupon.reserved')).toHaveLength(1);
    expect(
      all.filter((a) => a.type === 'coupon.rejected').every((a) => a.payload.reason === 'CAMPAIGN_EXHAUSTED'),
    ).toBe(true);
    expect(await counters(c.id)).toEqual({ redemptions: 1, budgetUsed: 2000, rowSlots: 1, rowBudget: 2000 });
  });

  it('a monetary budget is never exceeded by one minor unit under concurrency', async () => {
    const budget = 100_003;
    const c = await campaign({
      name: 'Budget',
      trigger: 'code',
      code: 'BUDGET-7',
      discount: { percentOff: 7 },
      limits: { budget: { value: budget, currency: 'CNY' } },
    });
    const orders = Array.from({ length: 400 }, (_, i) => placed('BUDGET-7', 3000 + ((i * 7919) % 9000)));
    await Promise.all([0, 1, 2, 3].map((k) => publish('order.placed', '', ...orders.filter((_, i) => i % 4 === k))));
    const by = await answersFor(
      orders.map((o) => o.orderId),
      120_000,
    );
    const reserved = [...by.values()].map((l) => l[0]!).filter((a) => a.type === 'coupon.reserved');
    const spent = reserved.reduce((s, a) => s + (a.payload.discount.value as number), 0);
    expect(spent).toBeLessThanOrEqual(budget);
    expect(reserved.length).toBeGreaterThan(100);
    expect(reserved.length).toBeLessThan(400);
    const k = await counters(c.id);
    expect(k.budgetUsed).toBe(spent);
    expect(k.rowBudget).toBe(spent);
    // Every rejection was for the budget, and none would have fitted what was left at the end.
    const rejected = [...by.values()].map((l) => l[0]!).filter((a) => a.type === 'coupon.rejected');
    expect(rejected.every((a) => a.payload.reason === 'BUDGET_EXHAUSTED')).toBe(true);
  });

  it('post-purchase campaigns issue a coupon to the buyer of a matching purchase', async () => {
    const c = await campaign({
      name: 'Come back for dinner',
      trigger: 'post_purchase',
      city: 'Hangzhou',
      discount: { percentOff: 15 },
      conditions: { minSpend: { value: 5000, currency: 'CNY' }, productKinds: ['admission'] },
      limits: { perCustomer: 1 },
    });
    const far = await campaign({
      name: 'Elsewhere',
      trigger: 'post_purchase',
      city: 'Suzhou',
      discount: { percentOff: 15 },
    });
    const issued = (customerReference: string | null, value: number) => {
      const orderId = newId('order');
      return {
        orderId,
        merchantId,
        attractionId,
        city: 'Hangzhou',
        paymentId: newId('payment'),
        customerReference,
        amountPaid: { value, currency: 'CNY' as const },
        tickets: [
          {
            ticketId: newId('ticket'),
            productId: newId('product'),
            productKind: 'admission' as const,
            slotId: null,
            validFrom: new Date().toISOString(),
            validTo: new Date(Date.now() + 86400_000).toISOString(),
            maxEntries: 1,
          },
        ],
        issuedAt: new Date().toISOString(),
      };
    };
    // Two qualifying purchases of buyer-1 (on different partitions: either may come first; the
    // per-customer limit of 1 lets only one issue), one under the minimum spend, one anonymous,
    // and a re-delivery of the first.
    const big = issued('buyer-1', 8000);
    const bigger = issued('buyer-1', 9000);
    await publish('tickets.issued', '', big, bigger, issued('buyer-2', 4000), issued(null, 9000), big);
    const got = await eventually(
      () => call('GET', `${url}/v1/coupons?customerReference=buyer-1&campaignId=${c.id}`, { key }),
      (r) => r.body.data?.length === 1,
    );
    expect(got.body.data[0]).toMatchObject({ campaignId: c.id, status: 'issued' });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await call('GET', `${url}/v1/coupons?campaignId=${c.id}`, { key })).body.data).toHaveLength(1);
    expect((await call('GET', `${url}/v1/coupons?campaignId=${far.id}`, { key })).body.data).toHaveLength(0);
    const evt = await answers(
      `value::jsonb->>'type' = 'coupon.issued' AND value::jsonb->'payload'->>'campaignId' = '${c.id}'`,
    );
    expect(evt).toHaveLength(1);
    expect(evt[0]!.payload).toMatchObject({
      trigger: 'post_purchase',
      sourceOrderId: expect.stringMatching(new RegExp(`^(${big.orderId}|${bigger.orderId})$`)),
      customerReference: 'buyer-1',
    });
  });

  it('a real counter sale with a code: discounted amount due, redeemed when paid, released on cancel, post-purchase coupon', async () => {
    const t = stack.urls.ticketing;
    const attraction = await eventually(
      () =>
        call('POST', `${t}/v1/attractions`, {
          key,
          body: { name: 'Lingyin', city: 'Hangzhou', timezone: 'Asia/Shanghai' },
        }),
      (r) => r.status !== 401,
      120_000,
      500,
    );
    expect(attraction.status).toBe(201);
    const product = await call('POST', `${t}/v1/attractions/${attraction.body.id}/products`, {
      key,
      body: {
        name: 'Adult',
        kind: 'admission',
        price: { value: 12000, currency: 'CNY' },
        entry: { maxEntries: 1, validity: 'day' },
        requiresSlot: false,
      },
    });
    expect(product.status).toBe(201);
    const code = await campaign({
      name: 'Real sale 20%',
      trigger: 'code',
      code: 'REALSALE',
      discount: { percentOff: 20 },
      attractionIds: [attraction.body.id],
    });
    const after = await campaign({
      name: 'Dinner after the visit',
      trigger: 'post_purchase',
      city: 'Hangzhou',
      attractionIds: [attraction.body.id],
      discount: { percentOff: 10 },
    });
    /**
     * Test stacks share the topics: another running stack's promotions (which does not know this
     * code) may answer COUPON_UNKNOWN before ours, and ticketing takes the first answer. When our
     * promotions reserved the coupon but ticketing got a rejection, the rejection was foreign:
     * say so and stop (the saga itself is covered by the event-level tests above).
     */
    const foreignAnswer = async (orderId: string) => {
      const ours = await answersFor([orderId]);
      if (ours.get(orderId)?.[0]?.type !== 'coupon.reserved') return false;
      console.warn(`order ${orderId}: another stack's promotions answered first; real-sale assertions skipped`);
      return true;
    };
    const order = async (reference: string) => {
      const r = await call('POST', `${t}/v1/orders`, {
        key,
        body: {
          channel: 'counter',
          items: [{ productId: product.body.id, quantity: 1 }],
          couponCode: 'realsale',
          customer: { reference },
        },
      });
      expect(r.status).toBe(201);
      return eventually(
        () => call('GET', `${t}/v1/orders/${r.body.id}`, { key }),
        (o) => o.body?.status === 'awaiting_payment',
      );
    };
    const paidOrder = await order('visitor-real');
    if (paidOrder.body.couponRejection !== undefined && (await foreignAnswer(paidOrder.body.id))) return;
    expect(paidOrder.body).toMatchObject({
      total: { value: 12000, currency: 'CNY' },
      discount: { value: 2400, currency: 'CNY' },
      amountDue: { value: 9600, currency: 'CNY' },
    });
    const payment = await call('POST', `${stack.urls.payment}/v1/payments`, {
      key,
      body: { orderId: paidOrder.body.id, amount: { value: 9600, currency: 'CNY' }, paymentCode: paymentCode('0123') },
    });
    expect(payment.status).toBe(201);
    const couponOf = async (orderId: string) =>
      (
        await stack.query<{ status: string }>(
          'promotions',
          `SELECT status FROM coupons WHERE order_id = $1 AND campaign_id = $2`,
          [orderId, code.id],
        )
      )[0]?.status;
    await eventually(
      () => couponOf(paidOrder.body.id),
      (s) => s === 'redeemed',
    );
    // tickets.issued → the post-purchase campaign's coupon for the visitor.
    const issued = await eventually(
      () => call('GET', `${url}/v1/coupons?customerReference=visitor-real&campaignId=${after.id}`, { key }),
      (r) => r.body.data?.length === 1,
    );
    expect(issued.body.data[0]).toMatchObject({ status: 'issued', customerReference: 'visitor-real' });

    const cancelled = await order('visitor-cancel');
    if (cancelled.body.couponRejection !== undefined && (await foreignAnswer(cancelled.body.id))) return;
    expect(cancelled.body.amountDue.value).toBe(9600);
    expect(await couponOf(cancelled.body.id)).toBe('reserved');
    expect((await call('POST', `${t}/v1/orders/${cancelled.body.id}/cancel`, { key })).status).toBe(200);
    await eventually(
      () => couponOf(cancelled.body.id),
      (s) => s === 'void',
    );
    expect(await counters(code.id)).toEqual({ redemptions: 1, budgetUsed: 2400, rowSlots: 1, rowBudget: 2400 });
  });

  it('crash safety: kill -9 promotions in the middle of a stream of orders; nothing reserved twice or lost', async () => {
    const limit = 120;
    const c = await campaign({
      name: 'Crash',
      trigger: 'code',
      code: 'CRASH-1',
      discount: { amountOff: { value: 300, currency: 'CNY' } },
      limits: { totalRedemptions: limit },
    });
    const orders = Array.from({ length: 400 }, () => placed('CRASH-1'));
    const sending = (async () => {
      for (let i = 0; i < orders.length; i += 20) {
        await publish('order.placed', '', ...orders.slice(i, i + 20));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await eventually(
      () => stack.query<{ n: number }>('promotions', `SELECT count(*)::int AS n FROM coupon_answers`),
      (r) => (r[0]?.n ?? 0) > 0,
      60_000,
      20,
    );
    stack.kill('promotions');
    await sending;
    await stack.restart('promotions');
    const by = await answersFor(
      orders.map((o) => o.orderId),
      150_000,
    );
    const all = [...by.values()].map((l) => {
      expect(l).toHaveLength(1); // answered exactly once
      return l[0]!;
    });
    expect(all.filter((a) => a.type === 'coupon.reserved')).toHaveLength(limit);
    const k = await counters(c.id);
    expect(k).toEqual({ redemptions: limit, budgetUsed: limit * 300, rowSlots: limit, rowBudget: limit * 300 });
    const [dup] = await stack.query<{ n: number }>(
      'promotions',
      `SELECT count(*)::int AS n FROM (SELECT order_id FROM coupons WHERE campaign_id = $1 GROUP BY order_id HAVING count(*) > 1) d`,
      [c.id],
    );
    expect(dup!.n).toBe(0);
    // Every answer reached the coupons topic (the relay resumes after the restart).
    await eventually(
      async () => all.filter((a) => !seenOnTopic.has(a.eventId)).length,
      (n) => n === 0,
      60_000,
    );
  });
});
