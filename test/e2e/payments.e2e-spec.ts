import { createHash, randomBytes } from 'node:crypto';
import { newId } from '@admit/contracts';
import { call, eventually, paymentCode, startStack, type Stack } from '@admit/testing';

/**
 * The payment service on the real stack (built dist/ services, the wallet sandbox, Kafka,
 * PostgreSQL, Redis): every row of the sandbox's behaviour table through the public API,
 * refunds, cancel, wallet notifications, and no double charge under concurrency — each checked
 * against the sandbox's own trade records.
 *
 * The wallet timeout is short (2 s) so the 5000–5999 codes, whose first answer the sandbox holds
 * for 4 s, time out on Admit's side; the resolve window is 12 s so never-paid payments end quickly.
 */
const MD5_KEY = 'admitsandboxdevkey0123456789abcd';
const PARTNER = '2088000000000001';
const WINDOW_MS = 12_000;

type Money = { value: number; currency: string };
const cny = (value: number): Money => ({ value, currency: 'CNY' });

// The project's testTimeout is not applied to this file's tests and hooks: set it here.
jest.setTimeout(180_000);

/** Signs a notification form like the wallet does (MD5: sorted k=v&… + key). */
function signForm(fields: Record<string, string>): Record<string, string> {
  const pre = Object.keys(fields)
    .filter((k) => k !== 'sign' && k !== 'sign_type' && fields[k] !== '')
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join('&');
  const sign = createHash('md5').update(`${pre}${MD5_KEY}`, 'utf8').digest('hex');
  return { ...fields, sign, sign_type: 'MD5' };
}

describe('payments end to end', () => {
  let stack: Stack;
  let urls: Stack['urls'];
  let key: string;
  let merchantId: string;
  let otherKey: string;
  /** A merchant's attraction in ticketing, and one admission product per price (created on demand). */
  type Shop = { key: string; attractionId: string; products: Map<string, Promise<string>> };
  let mine: Shop;
  let other: Shop;

  /** Ticketing learns the merchant's key from the merchants topic: retry while it answers 401. */
  const openShop = async (k: string, name: string): Promise<Shop> => {
    const attraction = await eventually(
      () =>
        call('POST', `${urls.ticketing}/v1/attractions`, {
          key: k,
          body: { name, city: 'Hangzhou', timezone: 'Asia/Shanghai' },
        }),
      (r) => r.status !== 401,
    );
    expect(attraction.status).toBe(201);
    return { key: k, attractionId: attraction.body.id, products: new Map() };
  };
  const productFor = (shop: Shop, price: Money): Promise<string> => {
    const id = `${price.value} ${price.currency}`;
    let product = shop.products.get(id);
    if (!product) {
      product = call('POST', `${urls.ticketing}/v1/attractions/${shop.attractionId}/products`, {
        key: shop.key,
        body: {
          name: `Ticket ${id}`,
          kind: 'admission',
          price,
          entry: { maxEntries: 1, validity: 'day' },
          requiresSlot: false,
        },
      }).then((r) => {
        expect(r.status).toBe(201);
        return r.body.id as string;
      });
      shop.products.set(id, product);
    }
    return product;
  };
  /** A real order in ticketing whose amount due is `amount` (one ticket at that price). */
  const placeOrder = async (amount: Money, shop: Shop = mine): Promise<string> => {
    const productId = await productFor(shop, amount);
    const r = await call('POST', `${urls.ticketing}/v1/orders`, {
      key: shop.key,
      body: { channel: 'counter', items: [{ productId, quantity: 1 }] },
    });
    expect(r.status).toBe(201);
    expect(r.body.amountDue).toEqual(amount);
    return r.body.id as string;
  };

  const capture = (body: Record<string, unknown>, idem?: string, k = key) =>
    call('POST', `${urls.payment}/v1/payments`, {
      key: k,
      body,
      ...(idem ? { headers: { 'idempotency-key': idem } } : {}),
    });
  const getPayment = (id: string, k = key) => call('GET', `${urls.payment}/v1/payments/${id}`, { key: k });
  const settle = (id: string, timeoutMs = WINDOW_MS + 30_000) =>
    eventually(
      () => getPayment(id),
      (r) => r.status === 200 && r.body.status !== 'processing',
      timeoutMs,
      250,
    ).then((r) => r.body);
  const trade = async (partnerTransId: string) => {
    const r = await call('GET', `${urls.sandbox}/trades?partnerTransId=${partnerTransId}`);
    return r.body.data as any[];
  };
  const tradesByCode = async (code: string) => {
    const r = await call(
      'GET',
      `${urls.sandbox}/trades?date=${new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date())}`,
    );
    return (r.body.data as any[]).filter((t) => t.buyerIdentityCode === code);
  };
  const events = async (aggregateId: string, type: string) => {
    const rows = await stack.query<{ value: string }>(
      'payment',
      `SELECT value FROM outbox_events WHERE message_key = $1 AND headers->>'event-type' = $2 ORDER BY id`,
      [aggregateId, type],
    );
    return rows.map((r) => JSON.parse(r.value).payload);
  };
  const notify = (form: Record<string, string>) =>
    call('POST', `${urls.payment}/v1/wallets/alipay/notify`, {
      raw: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

  beforeAll(async () => {
    stack = await startStack({
      name: 'e2e_payments',
      portBase: 15000,
      env: {
        WALLET_TIMEOUT_MS: '2000',
        PAYMENT_SYNC_WAIT_MS: '1000',
        PAYMENT_RESOLVE_WINDOW_MS: String(WINDOW_MS),
        SANDBOX_TIMEOUT_SLEEP_MS: '4000',
      },
    });
    urls = stack.urls;
    const onboard = async (name: string) => {
      const r = await call('POST', `${urls.payment}/v1/merchants`, {
        key: stack.acquirerKey,
        body: {
          name,
          country: 'CN',
          city: 'Hangzhou',
          timezone: 'Asia/Shanghai',
          mcc: '7991',
          settlementCurrency: 'CNY',
        },
      });
      expect(r.status).toBe(201);
      return r.body;
    };
    const m = await onboard('Lingyin Temple');
    key = m.apiKey.secret;
    merchantId = m.id;
    otherKey = (await onboard('Other Attraction')).apiKey.secret;
    [mine, other] = await Promise.all([openShop(key, 'Lingyin Temple'), openShop(otherKey, 'Other Attraction')]);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  describe('behaviour table: every row reaches its final state, agreeing with the wallet', () => {
    // `sync`: what the capture request may answer; `by`: what may have resolved it. A paid trade
    // also sends a notification at once, which may confirm the payment before the resolver's query.
    type Row = {
      last4: string;
      sync: string[];
      by: string[];
      status: string;
      code?: string;
      trade: string;
      closeAction?: string;
    };
    const rows: Row[] = [
      { last4: '0123', sync: ['succeeded'], by: ['sync', 'notification'], status: 'succeeded', trade: 'TRADE_SUCCESS' },
      {
        last4: '1456',
        sync: ['processing'],
        by: ['query', 'notification'],
        status: 'succeeded',
        trade: 'TRADE_SUCCESS',
      },
      {
        last4: '2789',
        sync: ['processing'],
        by: ['cancel'],
        status: 'failed',
        code: 'BUYER_NOT_PAID',
        trade: 'TRADE_CLOSED',
        closeAction: 'close',
      },
      {
        last4: '3001',
        sync: ['failed'],
        by: ['sync'],
        status: 'failed',
        code: 'INSUFFICIENT_BALANCE',
        trade: 'TRADE_CLOSED',
      },
      {
        last4: '4321',
        sync: ['processing', 'succeeded'],
        by: ['query', 'notification'],
        status: 'succeeded',
        trade: 'TRADE_SUCCESS',
      },
      {
        last4: '5555',
        sync: ['processing', 'succeeded'],
        by: ['query', 'notification'],
        status: 'succeeded',
        trade: 'TRADE_SUCCESS',
      },
      {
        last4: '6000',
        sync: ['failed'],
        by: ['sync'],
        status: 'failed',
        code: 'PAYMENT_CODE_EXPIRED',
        trade: 'TRADE_CLOSED',
      },
      {
        last4: '7999',
        sync: ['failed'],
        by: ['sync'],
        status: 'failed',
        code: 'PAYMENT_CODE_INVALID',
        trade: 'TRADE_CLOSED',
      },
      { last4: '8500', sync: ['failed'], by: ['sync'], status: 'failed', code: 'RISK_REJECTED', trade: 'TRADE_CLOSED' },
      { last4: '9000', sync: ['succeeded'], by: ['sync', 'notification'], status: 'succeeded', trade: 'TRADE_SUCCESS' },
    ];
    const started = new Map<string, Promise<{ first: any; final: any }>>();

    beforeAll(() => {
      // All rows run at the same time; each test below waits for its own.
      for (const row of rows) {
        const run = (async () => {
          const first = await capture(
            { orderId: await placeOrder(cny(4200)), amount: cny(4200), paymentCode: paymentCode(row.last4) },
            `table-${row.last4}`,
          );
          expect(first.status).toBe(201);
          const final = first.body.status === 'processing' ? await settle(first.body.id) : first.body;
          return { first: first.body, final };
        })();
        run.catch(() => undefined); // reported by the row's own test
        started.set(row.last4, run);
      }
    });

    it.each(rows)('code ending $last4 → $status $code', async (row) => {
      const { first, final } = await (started.get(row.last4) as Promise<{ first: any; final: any }>);
      expect(row.sync).toContain(first.status);
      expect(final.status).toBe(row.status);
      if (row.code) expect(final.failure.code).toBe(row.code);
      else expect(final.failure).toBeUndefined();
      const [stored] = await stack.query<{ resolved_by: string }>(
        'payment',
        'SELECT resolved_by FROM payments WHERE id = $1',
        [final.id],
      );
      expect(row.by).toContain(stored?.resolved_by);
      const trades = await trade(final.id);
      expect(trades).toHaveLength(1);
      expect(trades[0].status).toBe(row.trade);
      expect(trades[0].payCalls).toBe(1); // an unknown pay is resolved by query, never sent again
      if (row.closeAction) expect(trades[0].closeAction).toBe(row.closeAction);
      if (row.status === 'succeeded') {
        expect(final.walletTransactionId).toBe(trades[0].alipayTransId);
        expect(final.paidAt).toBeTruthy();
        expect(await events(final.id, 'payment.succeeded')).toHaveLength(1);
        expect(await events(final.id, 'payment.failed')).toHaveLength(0);
      } else {
        const failed = await events(final.id, 'payment.failed');
        expect(failed).toHaveLength(1);
        expect(failed[0].failure.code).toBe(row.code);
        expect(await events(final.id, 'payment.succeeded')).toHaveLength(0);
      }
    });

    it('a code that is not 16–24 digits is rejected with 400 before any wallet call', async () => {
      const code = '28123';
      const r = await capture({ orderId: await placeOrder(cny(100)), amount: cny(100), paymentCode: code });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      expect(await tradesByCode(code)).toHaveLength(0);
    });
  });

  describe("the order and the attraction must be the merchant's (known from ticketing's events)", () => {
    const paymentsOf = (orderId: string) =>
      stack.query<{ id: string }>('payment', 'SELECT id FROM payments WHERE order_id = $1', [orderId]);
    const counts = async () =>
      (
        await stack.query<{ payments: number; outbox: number }>(
          'payment',
          'SELECT (SELECT count(*)::int FROM payments) AS payments, (SELECT count(*)::int FROM outbox_events) AS outbox',
        )
      )[0];

    it('a payment for an order that does not exist → 404 after the wait; nothing written, no wallet trade', async () => {
      const orderId = newId('order');
      const code = paymentCode('0123');
      const before = await counts();
      const started = Date.now();
      const r = await capture({ orderId, amount: cny(4200), paymentCode: code }, `unknown-${orderId}`);
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'No such order.' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2900); // PAYMENT_ORDER_WAIT_MS (3 s) first
      expect(await paymentsOf(orderId)).toEqual([]);
      expect(await tradesByCode(code)).toHaveLength(0);
      expect(await counts()).toEqual(before);
    });

    it("a payment for another merchant's order → the same 404; nothing written, no wallet trade", async () => {
      const orderId = await placeOrder(cny(4300), other);
      const code = paymentCode('0123');
      const r = await capture({ orderId, amount: cny(4300), paymentCode: code });
      expect(r.status).toBe(404);
      expect(r.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'No such order.' });
      expect(await paymentsOf(orderId)).toEqual([]);
      expect(await tradesByCode(code)).toHaveLength(0);
      // The order is known: its own merchant pays it.
      const own = await capture({ orderId, amount: cny(4300), paymentCode: paymentCode('0123') }, undefined, otherKey);
      expect(own.status).toBe(201);
      expect(own.body.status).toBe('succeeded');
    });

    it("a payment in another currency than the order's → 422 CURRENCY_MISMATCH; nothing written", async () => {
      const orderId = await placeOrder(cny(4400));
      const code = paymentCode('0123');
      const r = await capture({ orderId, amount: { value: 4400, currency: 'USD' }, paymentCode: code });
      expect(r.status).toBe(422);
      expect(r.body.error.code).toBe('CURRENCY_MISMATCH');
      expect(await paymentsOf(orderId)).toEqual([]);
      expect(await tradesByCode(code)).toHaveLength(0);
    });

    it('a payment right after placing the order (no pause) waits for the order and succeeds', async () => {
      const productId = await productFor(mine, cny(4500));
      const order = await call('POST', `${urls.ticketing}/v1/orders`, {
        key,
        body: { channel: 'counter', items: [{ productId, quantity: 1 }] },
      });
      expect(order.status).toBe(201);
      const r = await capture({ orderId: order.body.id, amount: cny(4500), paymentCode: paymentCode('0123') });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ orderId: order.body.id, status: 'succeeded', amount: cny(4500) });
    });

    it("a gate key for another merchant's attraction → 404; for its own → 201", async () => {
      const keysBefore = await stack.query<{ n: number }>('payment', 'SELECT count(*)::int AS n FROM api_keys');
      for (const k of [key, stack.acquirerKey]) {
        const r = await call('POST', `${urls.payment}/v1/merchants/${merchantId}/api-keys`, {
          key: k,
          body: { scope: 'gate', attractionId: other.attractionId },
        });
        expect(r.status).toBe(404);
        expect(r.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'No such attraction.' });
      }
      const unknown = await call('POST', `${urls.payment}/v1/merchants/${merchantId}/api-keys`, {
        key,
        body: { scope: 'gate', attractionId: newId('attraction') },
      });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'No such attraction.' });
      expect(await stack.query('payment', 'SELECT count(*)::int AS n FROM api_keys')).toEqual(keysBefore);

      const own = await call('POST', `${urls.payment}/v1/merchants/${merchantId}/api-keys`, {
        key,
        body: { scope: 'gate', attractionId: mine.attractionId },
      });
      expect(own.status).toBe(201);
      expect(own.body).toMatchObject({ scope: 'gate', merchantId, attractionId: mine.attractionId });
    });
  });

  describe('cross-currency', () => {
    it('records the exchange rate and settlement amount from the sync answer', async () => {
      const r = await capture({
        orderId: await placeOrder({ value: 1000, currency: 'USD' }),
        amount: { value: 1000, currency: 'USD' },
        paymentCode: paymentCode('0042'),
      });
      expect(r.body).toMatchObject({
        status: 'succeeded',
        amount: { value: 1000, currency: 'USD' },
        exchangeRate: '7.1',
        settlementAmount: { value: 7100, currency: 'CNY' },
      });
      const [succeeded] = await events(r.body.id, 'payment.succeeded');
      expect(succeeded).toMatchObject({ exchangeRate: '7.1', settlementAmount: { value: 7100, currency: 'CNY' } });
    });

    it('records them when the resolver finds the payment by query', async () => {
      const r = await capture({
        orderId: await placeOrder({ value: 1200, currency: 'JPY' }),
        amount: { value: 1200, currency: 'JPY' },
        paymentCode: paymentCode('4042'),
      });
      expect(r.body.status).toBe('processing');
      const final = await settle(r.body.id);
      const [t] = await trade(final.id);
      expect(final).toMatchObject({ status: 'succeeded', exchangeRate: t.exchangeRate, settlementAmount: t.amountCny });
      expect(t.amountCny).toEqual({ value: 5760, currency: 'CNY' });
    });
  });

  describe('refunds', () => {
    let paymentId: string;
    beforeAll(async () => {
      const r = await capture({
        orderId: await placeOrder(cny(10000)),
        amount: cny(10000),
        paymentCode: paymentCode('0500'),
      });
      expect(r.body.status).toBe('succeeded');
      paymentId = r.body.id;
    });
    const refund = (body: Record<string, unknown>, idem?: string, id = paymentId, k = key) =>
      call('POST', `${urls.payment}/v1/payments/${id}/refunds`, {
        key: k,
        body,
        ...(idem ? { headers: { 'idempotency-key': idem } } : {}),
      });

    it('partial, repeated, idempotent, never above the captured amount', async () => {
      const first = await refund({ amount: cny(3000), reason: 'one ticket returned' }, 'rf-1');
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ paymentId, status: 'succeeded', amount: cny(3000) });
      expect(first.body.id).toMatch(/^rfd_/);

      // Same key, same body → the same refund, no second wallet refund.
      const replay = await refund({ amount: cny(3000), reason: 'one ticket returned' }, 'rf-1');
      expect(replay.body.id).toBe(first.body.id);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      // Same key, other body → 422.
      expect((await refund({ amount: cny(1000) }, 'rf-1')).body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');

      const second = await refund({ amount: cny(3000) }, 'rf-2');
      expect(second.body).toMatchObject({ status: 'succeeded', amount: cny(3000) });

      const over = await refund({ amount: cny(4001) }, 'rf-3');
      expect(over.status).toBe(422);
      expect(over.body.error.code).toBe('REFUND_EXCEEDS_PAYMENT');

      const wrongCurrency = await refund({ amount: { value: 100, currency: 'USD' } });
      expect(wrongCurrency.status).toBe(422);
      expect(wrongCurrency.body.error.code).toBe('CURRENCY_MISMATCH');

      const rest = await refund({ amount: cny(4000) });
      expect(rest.body.status).toBe('succeeded');
      expect((await refund({ amount: cny(1) })).body.error.code).toBe('REFUND_EXCEEDS_PAYMENT');

      const payment = await getPayment(paymentId);
      expect(payment.body.refundedAmount).toEqual(cny(10000));
      const got = await call('GET', `${urls.payment}/v1/refunds/${first.body.id}`, { key });
      expect(got.body).toMatchObject({ id: first.body.id, paymentId, status: 'succeeded', amount: cny(3000) });
      expect((await call('GET', `${urls.payment}/v1/refunds/${first.body.id}`, { key: otherKey })).status).toBe(404);

      // The wallet refunded exactly three times, 10000 in all.
      const [t] = await trade(paymentId);
      expect(t.refunded).toEqual(cny(10000));
      expect(t.refunds).toHaveLength(3);
      const succeeded = await events(paymentId, 'refund.succeeded');
      expect(succeeded.map((e) => [e.amount.value, e.refundedTotal.value, e.fullyRefunded])).toEqual([
        [3000, 3000, false],
        [3000, 6000, false],
        [4000, 10000, true],
      ]);
    });

    it('concurrent refunds cannot together exceed the payment (checked in PostgreSQL)', async () => {
      const p = await capture({
        orderId: await placeOrder(cny(10000)),
        amount: cny(10000),
        paymentCode: paymentCode('0501'),
      });
      expect(p.body.status).toBe('succeeded');
      const replies = await Promise.all(
        Array.from({ length: 12 }, () => refund({ amount: cny(2000) }, undefined, p.body.id)),
      );
      const ok = replies.filter((r) => r.status === 201 && r.body.status === 'succeeded');
      const over = replies.filter((r) => r.status === 422 && r.body.error.code === 'REFUND_EXCEEDS_PAYMENT');
      expect(ok).toHaveLength(5);
      expect(over).toHaveLength(7);
      const [t] = await trade(p.body.id);
      expect(t.refunded).toEqual(cny(10000));
      expect((await getPayment(p.body.id)).body.refundedAmount).toEqual(cny(10000));
    });

    it('refuses refunds of payments that did not succeed, and of other merchants', async () => {
      const failed = await capture({
        orderId: await placeOrder(cny(500)),
        amount: cny(500),
        paymentCode: paymentCode('3002'),
      });
      expect(failed.body.status).toBe('failed');
      const r = await refund({ amount: cny(100) }, undefined, failed.body.id);
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('PAYMENT_NOT_REFUNDABLE');
      expect((await refund({ amount: cny(100) }, undefined, paymentId, otherKey)).status).toBe(404);
    });
  });

  describe('cancel', () => {
    const cancel = (id: string, k = key) =>
      call('POST', `${urls.payment}/v1/payments/${id}/cancel`, { key: k, body: {} });

    it('reverses a succeeded payment (the wallet returns the money) and frees the order', async () => {
      const orderId = await placeOrder(cny(8800));
      const p = await capture({ orderId, amount: cny(8800), paymentCode: paymentCode('0777') });
      expect(p.body.status).toBe('succeeded');
      expect((await cancel(p.body.id, otherKey)).status).toBe(404);
      const c = await cancel(p.body.id);
      expect(c.status).toBe(200);
      expect(c.body).toMatchObject({ id: p.body.id, status: 'cancelled', reversed: true });
      const [t] = await trade(p.body.id);
      expect(t).toMatchObject({ status: 'TRADE_CLOSED', closeAction: 'refund' });
      const cancelled = await events(p.body.id, 'payment.cancelled');
      expect(cancelled).toHaveLength(1);
      expect(cancelled[0].reversed).toBe(true);
      // Idempotent; no refund of a cancelled payment; the order can be paid again.
      expect((await cancel(p.body.id)).body.status).toBe('cancelled');
      expect(await events(p.body.id, 'payment.cancelled')).toHaveLength(1);
      const refund = await call('POST', `${urls.payment}/v1/payments/${p.body.id}/refunds`, {
        key,
        body: { amount: cny(1) },
      });
      expect(refund.status).toBe(409);
      const again = await capture({ orderId, amount: cny(8800), paymentCode: paymentCode('0778') });
      expect(again.body.status).toBe('succeeded');
    });

    it('cancels a payment still waiting for the buyer (unpaid trade closed, not reversed)', async () => {
      const p = await capture({
        orderId: await placeOrder(cny(300)),
        amount: cny(300),
        paymentCode: paymentCode('2100'),
      });
      expect(p.body.status).toBe('processing');
      const c = await cancel(p.body.id);
      expect(c.status).toBe(200);
      expect(c.body).toMatchObject({ status: 'cancelled', reversed: false });
      const [t] = await trade(p.body.id);
      expect(t).toMatchObject({ status: 'TRADE_CLOSED', closeAction: 'close' });
      expect(await events(p.body.id, 'payment.cancelled')).toHaveLength(1);
      expect(await events(p.body.id, 'payment.failed')).toHaveLength(0);
    });

    it('refuses to cancel a refunded or a failed payment', async () => {
      const p = await capture({
        orderId: await placeOrder(cny(1000)),
        amount: cny(1000),
        paymentCode: paymentCode('0779'),
      });
      const r = await call('POST', `${urls.payment}/v1/payments/${p.body.id}/refunds`, {
        key,
        body: { amount: cny(100) },
      });
      expect(r.body.status).toBe('succeeded');
      const c = await cancel(p.body.id);
      expect(c.status).toBe(409);
      expect(c.body.error.code).toBe('PAYMENT_HAS_REFUNDS');
      expect((await getPayment(p.body.id)).body.status).toBe('succeeded');
      const f = await capture({
        orderId: await placeOrder(cny(1000)),
        amount: cny(1000),
        paymentCode: paymentCode('6001'),
      });
      expect((await cancel(f.body.id)).body.error.code).toBe('PAYMENT_NOT_CANCELLABLE');
    });
  });

  describe('wallet notifications', () => {
    const stored = (notifyId: string) =>
      stack.query<{ deliveries: number; outcome: string | null; processed_at: Date | null }>(
        'payment',
        'SELECT deliveries, outcome, processed_at FROM wallet_notifications WHERE notify_id = $1',
        [notifyId],
      );

    it('a signed notification is confirmed, applied once, and a resend changes nothing', async () => {
      const p = await capture({
        orderId: await placeOrder(cny(2500)),
        amount: cny(2500),
        paymentCode: paymentCode('1999'),
      });
      expect(p.body.status).toBe('processing');
      await settle(p.body.id);
      // The sandbox sent its signed payByAccountAction notification to the service and got `success`.
      const sent = await eventually(
        () => call('GET', `${urls.sandbox}/notifications?partnerTransId=${p.body.id}`),
        (r) => r.body.data.some((n: any) => n.status === 'delivered' && n.form.trade_status === 'TRADE_SUCCESS'),
        15_000,
      );
      const n = sent.body.data.find((x: any) => x.form.trade_status === 'TRADE_SUCCESS');
      const [row] = await stored(n.notifyId);
      expect(row?.processed_at).toBeTruthy();
      expect(row?.deliveries).toBe(1);

      const resend = await notify(n.form);
      expect(resend.status).toBe(200);
      expect(resend.body).toBe('success');
      expect((await stored(n.notifyId))[0]?.deliveries).toBe(2);
      expect(await events(p.body.id, 'payment.succeeded')).toHaveLength(1);
      expect((await getPayment(p.body.id)).body.status).toBe('succeeded');
    });

    it('a tampered or unsigned notification is rejected and nothing changes', async () => {
      const p = await capture({
        orderId: await placeOrder(cny(2600)),
        amount: cny(2600),
        paymentCode: paymentCode('2222'),
      });
      expect(p.body.status).toBe('processing');
      const form = signForm({
        notify_id: randomBytes(16).toString('hex'),
        notify_type: 'trade_status_sync',
        notify_action_type: 'payByAccountAction',
        partner: PARTNER,
        out_trade_no: p.body.id,
        trade_no: '2026050122001400000000000042',
        trade_status: 'WAIT_BUYER_PAY',
        currency: 'CNY',
        trans_amount: '26.00',
      });
      const before = await stack.query<{ n: number }>('payment', 'SELECT count(*)::int AS n FROM wallet_notifications');
      const tampered = await notify({ ...form, trade_status: 'TRADE_SUCCESS' });
      expect(tampered.status).toBe(400);
      expect(tampered.body.error.code).toBe('INVALID_NOTIFICATION');
      const { sign: _sign, sign_type: _type, ...unsigned } = form;
      expect((await notify(unsigned)).status).toBe(400);
      expect((await notify({ ...form, partner: '2088000000000999' })).status).toBe(400);
      expect(
        await stack.query<{ n: number }>('payment', 'SELECT count(*)::int AS n FROM wallet_notifications'),
      ).toEqual(before);
      expect((await getPayment(p.body.id)).body.status).toBe('processing');

      // Correctly signed but the wallet does not confirm a payment: a hint only, nothing moves.
      const forged = signForm({ ...form, notify_id: randomBytes(16).toString('hex'), trade_status: 'TRADE_SUCCESS' });
      const accepted = await notify(forged);
      expect(accepted.status).toBe(200);
      expect((await stored(forged['notify_id'] as string))[0]?.outcome).toMatch(/^none:/);
      expect((await getPayment(p.body.id)).body.status).toBe('processing');
      expect(await events(p.body.id, 'payment.succeeded')).toHaveLength(0);
    });
  });

  describe('no double charge', () => {
    it('50 concurrent identical requests (same Idempotency-Key) → one wallet trade, one succeeded payment', async () => {
      const orderId = await placeOrder(cny(6600));
      const code = paymentCode('1234');
      const body = { orderId, amount: cny(6600), paymentCode: code };
      const replies = await Promise.all(Array.from({ length: 50 }, () => capture(body, `same-key-${orderId}`)));
      for (const r of replies) expect([200, 201, 409]).toContain(r.status);
      const ids = new Set(replies.filter((r) => r.status !== 409).map((r) => r.body.id));
      expect(ids.size).toBe(1);
      const id = [...ids][0] as string;
      expect((await settle(id)).status).toBe('succeeded');
      // A late retry with the key gets the same payment.
      expect((await capture(body, `same-key-${orderId}`)).body.id).toBe(id);
      const rows = await stack.query<{ id: string; status: string }>(
        'payment',
        'SELECT id, status FROM payments WHERE order_id = $1',
        [orderId],
      );
      expect(rows).toEqual([{ id, status: 'succeeded' }]);
      const trades = await tradesByCode(code);
      expect(trades).toHaveLength(1);
      expect(trades[0]).toMatchObject({ partnerTransId: id, status: 'TRADE_SUCCESS', payCalls: 1 });
      expect(await events(id, 'payment.succeeded')).toHaveLength(1);
    });

    it('50 concurrent requests for one order with different keys → one wallet trade, one succeeded payment', async () => {
      const orderId = await placeOrder(cny(7700));
      const code = paymentCode('1777');
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          capture({ orderId, amount: cny(7700), paymentCode: code }, `diff-key-${orderId}-${i}`),
        ),
      );
      const created = replies.filter((r) => r.status === 201);
      expect(created).toHaveLength(1);
      for (const r of replies.filter((x) => x.status !== 201)) {
        expect(r.status).toBe(409);
        expect(['PAYMENT_IN_PROGRESS', 'ORDER_ALREADY_PAID']).toContain(r.body.error.code);
      }
      const id = created[0]?.body.id as string;
      expect((await settle(id)).status).toBe('succeeded');
      const late = await capture(
        { orderId, amount: cny(7700), paymentCode: paymentCode('0001') },
        `diff-key-${orderId}-late`,
      );
      expect(late.status).toBe(409);
      expect(late.body.error.code).toBe('ORDER_ALREADY_PAID');
      const rows = await stack.query<{ id: string; status: string }>(
        'payment',
        'SELECT id, status FROM payments WHERE order_id = $1',
        [orderId],
      );
      expect(rows).toEqual([{ id, status: 'succeeded' }]);
      const trades = await tradesByCode(code);
      expect(trades).toHaveLength(1);
      expect(trades[0]).toMatchObject({ partnerTransId: id, status: 'TRADE_SUCCESS' });
      expect(await events(id, 'payment.succeeded')).toHaveLength(1);
    });
  });

  describe('unknown wallet outcomes (sandbox faults)', () => {
    const arm = async (fault: Record<string, unknown>) => {
      const r = await call('POST', `${urls.sandbox}/control/faults`, { body: fault });
      expect(r.status).toBeLessThan(300);
    };
    afterEach(async () => {
      await call('DELETE', `${urls.sandbox}/control/faults`);
    });

    it.each(['bad_response_sign', 'http_500'])(
      'a refund whose answer is lost (%s) is retried with the same partner_refund_id and refunds once',
      async (fault) => {
        const p = await capture({
          orderId: await placeOrder(cny(9000)),
          amount: cny(9000),
          paymentCode: paymentCode('0901'),
        });
        expect(p.body.status).toBe('succeeded');
        await arm({ fault, service: 'alipay.acquire.overseas.spot.refund', partnerTransId: p.body.id, count: 1 });
        const r = await call('POST', `${urls.payment}/v1/payments/${p.body.id}/refunds`, {
          key,
          body: { amount: cny(4000) },
        });
        expect(r.status).toBe(201);
        expect(r.body.status).toBe('pending');
        const done = await eventually(
          () => call('GET', `${urls.payment}/v1/refunds/${r.body.id}`, { key }),
          (x) => x.body.status !== 'pending',
          20_000,
        );
        expect(done.body.status).toBe('succeeded');
        const [t] = await trade(p.body.id);
        expect(t.refunds).toEqual([expect.objectContaining({ partnerRefundId: r.body.id, amount: cny(4000) })]);
        expect(t.refunded).toEqual(cny(4000));
        expect((await getPayment(p.body.id)).body.refundedAmount).toEqual(cny(4000));
        expect(await events(p.body.id, 'refund.succeeded')).toHaveLength(1);
      },
    );

    it('a cancel the wallet asks to retry is retried on schedule until confirmed (202 meanwhile)', async () => {
      const p = await capture({
        orderId: await placeOrder(cny(1500)),
        amount: cny(1500),
        paymentCode: paymentCode('0902'),
      });
      expect(p.body.status).toBe('succeeded');
      await arm({ fault: 'unknown_result', service: 'alipay.acquire.cancel', partnerTransId: p.body.id, count: 2 });
      const c = await call('POST', `${urls.payment}/v1/payments/${p.body.id}/cancel`, { key });
      expect(c.status).toBe(202);
      expect(c.body).toMatchObject({ status: 'succeeded', cancellation: { status: 'pending' } });
      // No refund while the reversal is pending.
      const refund = await call('POST', `${urls.payment}/v1/payments/${p.body.id}/refunds`, {
        key,
        body: { amount: cny(1) },
      });
      expect(refund.body.error.code).toBe('PAYMENT_CANCEL_IN_PROGRESS');
      const done = await eventually(
        () => getPayment(p.body.id),
        (x) => x.body.status === 'cancelled',
        20_000,
      );
      expect(done.body.reversed).toBe(true);
      const [stored] = await stack.query<{ attempts: number }>(
        'payment',
        'SELECT attempts FROM payments WHERE id = $1',
        [p.body.id],
      );
      expect(stored?.attempts).toBe(2); // two retries recorded before the confirming third call
      expect((await trade(p.body.id))[0]).toMatchObject({ status: 'TRADE_CLOSED', closeAction: 'refund' });
      expect(await events(p.body.id, 'payment.cancelled')).toHaveLength(1);
    });

    it('a cancel never confirmed raises the alarm after the 2,3,3,5,5 s retries and never reports success', async () => {
      const p = await capture({
        orderId: await placeOrder(cny(1600)),
        amount: cny(1600),
        paymentCode: paymentCode('2903'),
      });
      expect(p.body.status).toBe('processing');
      await arm({ fault: 'unknown_result', service: 'alipay.acquire.cancel', partnerTransId: p.body.id, count: 50 });
      const c = await call('POST', `${urls.payment}/v1/payments/${p.body.id}/cancel`, { key });
      expect(c.status).toBe(202);
      const started = Date.now();
      const reviewed = await eventually(
        () => getPayment(p.body.id),
        (x) => x.body.review !== undefined,
        40_000,
        500,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(15_000); // 2+3+3+5+5 s of retries first
      expect(reviewed.body.status).toBe('processing');
      expect(reviewed.body.review.reason).toMatch(/cancel not confirmed after 6 attempts/);
      const metrics = await fetch(`${urls.payment}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/admit_payment_alarms_total\{[^}]*kind="payment"[^}]*\} [1-9]/);
      // The order stays blocked (money state unknown) and the payment is not touched again.
      expect(await events(p.body.id, 'payment.succeeded')).toHaveLength(0);
      expect(await events(p.body.id, 'payment.failed')).toHaveLength(0);
      expect(await events(p.body.id, 'payment.cancelled')).toHaveLength(0);
    });

    it('a pay answered SYSTEM_ERROR is unknown, resolved by query and cancel, never sent twice', async () => {
      await arm({ fault: 'system_error', service: 'alipay.acquire.overseas.spot.pay', count: 1 });
      const p = await capture({
        orderId: await placeOrder(cny(1700)),
        amount: cny(1700),
        paymentCode: paymentCode('0904'),
      });
      expect(p.body.status).toBe('processing');
      const final = await settle(p.body.id);
      // The wallet never processed the pay: the window ended, the cancel closed the id, then failed.
      expect(final).toMatchObject({ status: 'failed', failure: { code: 'BUYER_NOT_PAID' } });
      const [t] = await trade(p.body.id);
      // The only trade record is the one the cancel created: the pay was never processed nor sent again.
      expect(t).toMatchObject({ status: 'TRADE_CLOSED', closeAction: 'close', behaviour: 'cancelled_before_pay' });
    });
  });

  it('the OpenAPI document lists the new endpoints', async () => {
    const doc = await call('GET', `${urls.payment}/openapi.json`);
    for (const path of [
      '/v1/payments/{id}/cancel',
      '/v1/payments/{id}/refunds',
      '/v1/refunds/{id}',
      '/v1/wallets/alipay/notify',
    ]) {
      expect(doc.body.paths[path]).toBeDefined();
    }
    expect(Object.keys(doc.body.paths['/v1/wallets/alipay/notify'].post.requestBody.content)).toEqual([
      'application/x-www-form-urlencoded',
    ]);
    expect(merchantId).toMatch(/^mch_/);
  });
});
