import { call, eventually, paymentCode, startStack, type Stack } from '@admit/testing';

/**
 * One counter sale across all four services, on real Kafka/PostgreSQL/Redis and the wallet
 * sandbox: onboarding → attraction and product → order → payment → tickets → gate → reports.
 */
describe('counter sale end to end', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ name: 'e2e_sale', portBase: 14000 });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('sells, issues, admits once and reports', async () => {
    const { urls, acquirerKey } = stack;
    const onboard = await call('POST', `${urls.payment}/v1/merchants`, {
      key: acquirerKey,
      body: {
        name: 'West Lake Zoo',
        country: 'CN',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7991',
        settlementCurrency: 'CNY',
      },
      headers: { 'idempotency-key': 'onboard-west-lake' },
    });
    expect(onboard.status).toBe(201);
    expect(onboard.body.id).toMatch(/^mch_/);
    expect(onboard.body.apiKey.secret).toMatch(/^admit_sk_/);
    expect(onboard.body.walletRegistration).toBe('registered');
    const merchantKey: string = onboard.body.apiKey.secret;

    // The same onboarding retried with its Idempotency-Key replays the first answer.
    const replay = await call('POST', `${urls.payment}/v1/merchants`, {
      key: acquirerKey,
      body: {
        name: 'West Lake Zoo',
        country: 'CN',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7991',
        settlementCurrency: 'CNY',
      },
      headers: { 'idempotency-key': 'onboard-west-lake' },
    });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(onboard.body.id);

    // Ticketing learns the key from the merchants topic.
    const attraction = await eventually(
      () =>
        call('POST', `${urls.ticketing}/v1/attractions`, {
          key: merchantKey,
          body: { name: 'West Lake Zoo', city: 'Hangzhou', timezone: 'Asia/Shanghai' },
        }),
      (r) => r.status !== 401,
    );
    expect(attraction.status).toBe(201);
    const product = await call('POST', `${urls.ticketing}/v1/attractions/${attraction.body.id}/products`, {
      key: merchantKey,
      body: {
        name: 'Adult day ticket',
        kind: 'admission',
        price: { value: 12000, currency: 'CNY' },
        entry: { maxEntries: 1, validity: 'day' },
        requiresSlot: false,
      },
    });
    expect(product.status).toBe(201);

    const order = await call('POST', `${urls.ticketing}/v1/orders`, {
      key: merchantKey,
      body: {
        channel: 'counter',
        items: [{ productId: product.body.id, quantity: 1 }],
        customer: { reference: 'visitor-42' },
      },
      headers: { 'idempotency-key': 'order-1' },
    });
    expect(order.status).toBe(201);
    expect(order.body).toMatchObject({
      status: 'awaiting_payment',
      total: { value: 12000, currency: 'CNY' },
      amountDue: { value: 12000, currency: 'CNY' },
      tickets: [],
    });

    const payment = await call('POST', `${urls.payment}/v1/payments`, {
      key: merchantKey,
      body: { orderId: order.body.id, amount: { value: 12000, currency: 'CNY' }, paymentCode: paymentCode('0123') },
      headers: { 'idempotency-key': 'pay-1', 'x-correlation-id': 'sale-corr-0001' },
    });
    expect(payment.headers.get('x-correlation-id')).toBe('sale-corr-0001');
    expect(payment.status).toBe(201);
    expect(payment.body).toMatchObject({
      status: 'succeeded',
      orderId: order.body.id,
      amount: { value: 12000, currency: 'CNY' },
      refundedAmount: { value: 0, currency: 'CNY' },
    });
    expect(payment.body.walletTransactionId).toBeTruthy();

    // The wallet has exactly one trade for it.
    const trades = await call<any>('GET', `${urls.sandbox}/trades?partnerTransId=${payment.body.id}`);
    expect(trades.status).toBe(200);
    const tradeList = Array.isArray(trades.body) ? trades.body : trades.body.data;
    expect(tradeList).toHaveLength(1);

    // payment.succeeded → ticketing issues the ticket.
    const fulfilled = await eventually(
      () => call('GET', `${urls.ticketing}/v1/orders/${order.body.id}`, { key: merchantKey }),
      (r) => r.body?.status === 'fulfilled',
    );
    expect(fulfilled.body.tickets).toHaveLength(1);
    const ticket = fulfilled.body.tickets[0];
    expect(ticket).toMatchObject({ status: 'valid', entriesLeft: 1 });
    // The correlation id of the POS request follows the flow through Kafka into ticketing's
    // events; the causation id of tickets.issued is the payment.succeeded event.
    const [paid] = await stack.query<{ value: string }>(
      'payment',
      `SELECT value FROM outbox_events WHERE value LIKE '%"type":"payment.succeeded"%' AND message_key = $1`,
      [payment.body.id],
    );
    const paidEnvelope = JSON.parse(paid!.value);
    expect(paidEnvelope.correlationId).toBe('sale-corr-0001');
    const [issued] = await stack.query<{ value: string }>(
      'ticketing',
      `SELECT value FROM outbox_events WHERE value LIKE '%"type":"tickets.issued"%' AND message_key = $1`,
      [order.body.id],
    );
    const issuedEnvelope = JSON.parse(issued!.value);
    expect(issuedEnvelope).toMatchObject({
      correlationId: 'sale-corr-0001',
      causationId: paidEnvelope.eventId,
      merchantId: onboard.body.id,
    });
    const page = await fetch(ticket.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<svg');

    // A gate key for this attraction; the gate admits once, then says ALREADY_USED with when and where.
    const gateKey = await call('POST', `${urls.payment}/v1/merchants/${onboard.body.id}/api-keys`, {
      key: merchantKey,
      body: { scope: 'gate', attractionId: attraction.body.id },
    });
    expect(gateKey.status).toBe(201);
    const first = await eventually(
      () =>
        call('POST', `${urls.ticketing}/v1/scans`, {
          key: gateKey.body.secret,
          body: { code: ticket.code, gateId: 'north-1', nonce: 'n-1' },
        }),
      (r) => r.status !== 401,
    );
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ result: 'admitted', ticket: { id: ticket.id, status: 'used', entriesLeft: 0 } });
    const retried = await call('POST', `${urls.ticketing}/v1/scans`, {
      key: gateKey.body.secret,
      body: { code: ticket.code, gateId: 'north-1', nonce: 'n-1' },
    });
    expect(retried.body).toEqual(first.body);
    const second = await call('POST', `${urls.ticketing}/v1/scans`, {
      key: gateKey.body.secret,
      body: { code: ticket.code, gateId: 'south-2' },
    });
    expect(second.body).toMatchObject({
      result: 'rejected',
      reason: 'ALREADY_USED',
      previousScan: { gateId: 'north-1' },
    });

    // Reporting counted the sale, the ticket and the admission.
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
    const daily = await eventually(
      () =>
        call('GET', `${urls.reporting}/v1/reports/daily?date=${today}&merchantId=${onboard.body.id}`, {
          key: acquirerKey,
        }),
      (r) => r.body?.totals?.[0]?.ticketCount === 1 && r.body?.totals?.[0]?.paymentCount === 1,
    );
    expect(daily.body.totals[0]).toMatchObject({
      currency: 'CNY',
      gross: { value: 12000, currency: 'CNY' },
      paymentCount: 1,
      ticketCount: 1,
    });
    const occupancy = await eventually(
      () =>
        call('GET', `${urls.reporting}/v1/reports/occupancy?attractionId=${attraction.body.id}`, { key: merchantKey }),
      (r) => r.body?.inside === 1,
    );
    expect(occupancy.body.inside).toBe(1);

    // Promotions saw the purchase (the ground truth of post-purchase offers).
    const purchases = await eventually(
      () => call('GET', `${urls.promotions}/v1/purchases?customerReference=visitor-42`, { key: merchantKey }),
      (r) => Array.isArray(r.body?.data) && r.body.data.length === 1,
    );
    expect(purchases.body.data[0]).toMatchObject({ orderId: order.body.id });

    // Revoking the gate key: every service rejects it within seconds.
    const revoke = await call('DELETE', `${urls.payment}/v1/api-keys/${gateKey.body.id}`, { key: merchantKey });
    expect(revoke.status).toBe(200);
    await eventually(
      () =>
        call('POST', `${urls.ticketing}/v1/scans`, {
          key: gateKey.body.secret,
          body: { code: ticket.code, gateId: 'north-1' },
        }),
      (r) => r.status === 401,
      10000,
    );
  }, 180_000);
});
