import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { call, eventually, paymentCode, REPO_ROOT, startStack, type Stack } from '@admit/testing';

/**
 * Reliability under faults: while sales flow, ticketing (a consumer that also produces) is
 * killed with SIGKILL and the Kafka broker is killed with SIGKILL and restarted. Afterwards every
 * event's effect must exist exactly once in every service — checked by counting rows.
 */
const ORDERS = Number(process.env['FAULT_ORDERS'] ?? 60);
const CONCURRENCY = 6;

function kafka(script: 'kill.sh' | 'start.sh'): void {
  execFileSync('bash', [join(REPO_ROOT, 'infra/kafka', script)], { stdio: 'ignore', env: process.env });
}

describe('exactly-once effects across a consumer crash and a broker restart', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ name: 'e2e_fault', portBase: 17000 });
  }, 180_000);
  afterAll(async () => {
    kafka('start.sh'); // never leave the broker down for the next suite
    await stack?.stop();
  }, 60_000);

  it('loses nothing and duplicates nothing', async () => {
    const { urls, acquirerKey } = stack;
    const merchant = await call('POST', `${urls.payment}/v1/merchants`, {
      key: acquirerKey,
      body: {
        name: 'Fault Park',
        country: 'CN',
        city: 'Suzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7991',
        settlementCurrency: 'CNY',
      },
    });
    expect(merchant.status).toBe(201);
    const key: string = merchant.body.apiKey.secret;
    const attraction = await eventually(
      () =>
        call('POST', `${urls.ticketing}/v1/attractions`, {
          key,
          body: { name: 'Fault Park', city: 'Suzhou', timezone: 'Asia/Shanghai' },
        }),
      (r) => r.status !== 401,
    );
    const product = await call('POST', `${urls.ticketing}/v1/attractions/${attraction.body.id}/products`, {
      key,
      body: {
        name: 'Day pass',
        kind: 'admission',
        price: { value: 5000, currency: 'CNY' },
        entry: { maxEntries: 1, validity: 'day' },
      },
    });
    expect(product.status).toBe(201);

    // Orders first (the POS talks to ticketing), then the captures flow while ticketing — the
    // consumer of payment events — is killed, and the broker is killed and restarted.
    const orders: { orderId: string; quantity: number; i: number }[] = [];
    let next = 0;
    const place = async () => {
      while (next < ORDERS) {
        const i = next++;
        const quantity = (i % 3) + 1;
        const order = await call('POST', `${urls.ticketing}/v1/orders`, {
          key,
          body: {
            channel: 'counter',
            items: [{ productId: product.body.id, quantity }],
            customer: { reference: `fault-${i}` },
          },
          headers: { 'idempotency-key': `fault-order-${i}` },
        });
        expect(order.status).toBe(201);
        orders.push({ orderId: order.body.id, quantity, i });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, place));

    const sold: { orderId: string; quantity: number; paymentId: string }[] = [];
    let started = 0;
    const payOne = async (o: (typeof orders)[number]) => {
      // The POS retries a capture that failed in transit with the same Idempotency-Key.
      const pay = await eventually(
        () =>
          call('POST', `${urls.payment}/v1/payments`, {
            key,
            body: {
              orderId: o.orderId,
              amount: { value: 5000 * o.quantity, currency: 'CNY' },
              paymentCode: paymentCode(String(o.i % 1000)),
            },
            headers: { 'idempotency-key': `fault-pay-${o.i}` },
          }).catch(() => ({ status: 0, body: null as any, headers: new Headers() })),
        (r) => r.status === 201 || r.status === 200,
        60000,
        500,
      );
      expect(pay.body.status).toBe('succeeded');
      sold.push({ orderId: o.orderId, quantity: o.quantity, paymentId: pay.body.id });
    };
    const worker = async () => {
      while (started < ORDERS) {
        const o = orders[started++];
        if (o) await payOne(o);
      }
    };
    const faults = (async () => {
      await eventually(
        async () => sold.length,
        (n) => n >= ORDERS / 3,
        120000,
        20,
      );
      stack.kill('ticketing');
      await eventually(
        async () => sold.length,
        (n) => n >= (ORDERS * 2) / 3,
        120000,
        20,
      );
      kafka('kill.sh');
      await new Promise((r) => setTimeout(r, 2000));
      kafka('start.sh');
      await stack.restart('ticketing');
    })();
    await Promise.all([...Array.from({ length: CONCURRENCY }, worker), faults]);
    expect(sold).toHaveLength(ORDERS);
    const totalTickets = sold.reduce((n, s) => n + s.quantity, 0);

    // Ticketing: every order fulfilled with exactly its tickets.
    const perOrder = await eventually(
      () =>
        stack.query<{ id: string; status: string; tickets: number }>(
          'ticketing',
          `SELECT o.id, o.status, (SELECT count(*)::int FROM tickets t WHERE t.order_id = o.id) AS tickets FROM orders o`,
        ),
      (rows) => rows.length === ORDERS && rows.every((r) => r.status === 'fulfilled'),
      120000,
      500,
    );
    const expected = new Map(sold.map((s) => [s.orderId, s.quantity]));
    for (const row of perOrder) expect(row.tickets).toBe(expected.get(row.id));
    // Every payment.succeeded this stack produced was processed by ticketing (the inbox key
    // makes "at most once" structural; the ticket counts above show the effects happened once).
    const produced = await stack.query<{ event_id: string }>(
      'payment',
      `SELECT event_id FROM outbox_events WHERE topic = 'payments' AND value LIKE '%"type":"payment.succeeded"%'`,
    );
    expect(produced).toHaveLength(ORDERS);
    const processed = await stack.query<{ event_id: string }>(
      'ticketing',
      `SELECT event_id FROM inbox WHERE event_type = 'payment.succeeded' AND status = 'processed' AND event_id = ANY($1::uuid[])`,
      [produced.map((p) => p.event_id)],
    );
    expect(processed).toHaveLength(ORDERS);

    // Other stacks' events share the broker's topics: every count below is for this merchant.
    // Payment and wallet: one succeeded payment and one wallet trade per order.
    const [payments] = await stack.query<{ n: number; orders: number }>(
      'payment',
      `SELECT count(*)::int AS n, count(DISTINCT order_id)::int AS orders FROM payments WHERE status = 'succeeded'`,
    );
    expect(payments).toEqual({ n: ORDERS, orders: ORDERS });
    const trades = await Promise.all(
      sold.map((s) => call('GET', `${urls.sandbox}/trades?partnerTransId=${s.paymentId}`)),
    );
    for (const t of trades) expect((Array.isArray(t.body) ? t.body : t.body.data).length).toBe(1);

    // Reporting and promotions: each sale and ticket counted once.
    const totals = await eventually(
      () =>
        stack.query<{ payments: number; tickets: number; gross: string }>(
          'reporting',
          `SELECT COALESCE(sum(payment_count),0)::int AS payments, COALESCE(sum(ticket_count),0)::int AS tickets, COALESCE(sum(gross_value),0)::text AS gross FROM daily_totals WHERE merchant_id = $1`,
          [merchant.body.id],
        ),
      (rows) => rows[0]?.payments === ORDERS && rows[0]?.tickets === totalTickets,
      120000,
      500,
    );
    expect(totals[0]).toEqual({ payments: ORDERS, tickets: totalTickets, gross: String(5000 * totalTickets) });
    const purchases = await eventually(
      () =>
        stack.query<{ n: number }>('promotions', 'SELECT count(*)::int AS n FROM purchases WHERE merchant_id = $1', [
          merchant.body.id,
        ]),
      (rows) => rows[0]?.n === ORDERS,
      60000,
      500,
    );
    expect(purchases[0]?.n).toBe(ORDERS);

    // And nothing is left behind in any outbox.
    for (const svc of ['payment', 'ticketing'] as const) {
      await eventually(
        () => stack.query<{ n: number }>(svc, 'SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL'),
        (rows) => rows[0]?.n === 0,
        60000,
        500,
      );
    }
  }, 600_000);
});
