import { call, eventually, paymentCode, startStack, type Stack } from '@admit/testing';

/**
 * Crash safety: kill -9 the payment service while captures with every sandbox behaviour are in
 * flight, start it again, and check that every payment reaches a final state and that Admit's
 * records agree with the wallet's, trade by trade: no charge without a record, no record
 * without its charge, no payment left processing, and each final state published exactly once.
 */
jest.setTimeout(300_000);

const TOTAL = 500;
const CLIENT_CONCURRENCY = 60;
/** Kill the payment service once this many captures have been sent; the rest go to the restarted one. */
const KILL_AFTER = 200;
const WINDOW_MS = 10_000;
/** Orders are placed in ticketing before the captures start, this many at a time. */
const ORDER_CONCURRENCY = 8;

/** Capture i's amount, which is also its order's amount due (ten prices, one product each). */
const amountOf = (i: number) => ({ value: 1000 + (i % 10) * 100, currency: 'CNY' });

type PaymentRow = {
  id: string;
  partner_trans_id: string;
  status: string;
  amount_value: string;
  failure_code: string | null;
  reversed: boolean;
};
type TradeRow = {
  partner_trans_id: string;
  status: string;
  close_action: string | null;
  amount_minor: string;
  pay_calls: number;
};

describe('payment service crash safety', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({
      name: 'e2e_payments_crash',
      portBase: 15500,
      env: {
        WALLET_TIMEOUT_MS: '2000',
        PAYMENT_SYNC_WAIT_MS: '1000',
        PAYMENT_RESOLVE_WINDOW_MS: String(WINDOW_MS),
        SANDBOX_TIMEOUT_SLEEP_MS: '3000',
      },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it(`kill -9 during ${TOTAL} captures: after restart every payment is final and matches the wallet`, async () => {
    const { urls } = stack;
    const onboard = await call('POST', `${urls.payment}/v1/merchants`, {
      key: stack.acquirerKey,
      body: {
        name: 'Crash Test Park',
        country: 'CN',
        city: 'Suzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7991',
        settlementCurrency: 'CNY',
      },
    });
    expect(onboard.status).toBe(201);
    const key: string = onboard.body.apiKey.secret;

    // Real orders first (payment refuses orders it does not know): an attraction, ten products,
    // TOTAL orders. Ticketing learns the merchant's key from the merchants topic: retry while 401.
    const attraction = await eventually(
      () =>
        call('POST', `${urls.ticketing}/v1/attractions`, {
          key,
          body: { name: 'Crash Test Park', city: 'Suzhou', timezone: 'Asia/Shanghai' },
        }),
      (r) => r.status !== 401,
    );
    expect(attraction.status).toBe(201);
    const products = await Promise.all(
      Array.from({ length: 10 }, async (_, p) => {
        const r = await call('POST', `${urls.ticketing}/v1/attractions/${attraction.body.id}/products`, {
          key,
          body: {
            name: `Ticket ${p}`,
            kind: 'admission',
            price: amountOf(p),
            entry: { maxEntries: 1, validity: 'day' },
            requiresSlot: false,
          },
        });
        expect(r.status).toBe(201);
        return r.body.id as string;
      }),
    );
    const orderIds: string[] = new Array<string>(TOTAL);
    let placed = 0;
    await Promise.all(
      Array.from({ length: ORDER_CONCURRENCY }, async () => {
        while (placed < TOTAL) {
          const i = placed++;
          const r = await call('POST', `${urls.ticketing}/v1/orders`, {
            key,
            body: { channel: 'counter', items: [{ productId: products[i % 10], quantity: 1 }] },
            headers: { 'idempotency-key': `crash-order-${i}` },
          });
          expect(r.status).toBe(201);
          orderIds[i] = r.body.id as string;
        }
      }),
    );

    let sent = 0;
    let restarted: Promise<void> | undefined;
    let processingAtKill = -1;
    const outcomes: ('answered' | 'error')[] = [];
    const worker = async () => {
      while (sent < TOTAL) {
        const i = sent++;
        if (i === KILL_AFTER) {
          stack.kill('payment');
          restarted = (async () => {
            const rows = await stack.query<{ n: number }>(
              'payment',
              `SELECT count(*)::int AS n FROM payments WHERE status = 'processing'`,
            );
            processingAtKill = rows[0]?.n ?? 0;
            await stack.restart('payment');
          })();
        }
        // Mixed behaviours: every thousand of the table, in turn.
        const last4 = `${i % 10}${String(i % 1000).padStart(3, '0')}`;
        try {
          const r = await call('POST', `${urls.payment}/v1/payments`, {
            key,
            body: {
              orderId: orderIds[i],
              amount: amountOf(i),
              paymentCode: paymentCode(last4),
            },
            headers: { 'idempotency-key': `crash-${i}` },
          });
          outcomes.push(r.status === 201 ? 'answered' : 'error');
        } catch {
          outcomes.push('error'); // the connection died with the process, or it is down
          await restarted; // the cashier waits for the service to come back, then scans the next visitor
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENT_CONCURRENCY }, worker));
    expect(restarted).toBeDefined();
    await restarted;
    expect(processingAtKill).toBeGreaterThan(0); // the crash did leave unfinished work

    // Every payment reaches a final state (lease expiry + window + cancel, with margin).
    await eventually(
      () =>
        stack.query<{ n: number }>('payment', `SELECT count(*)::int AS n FROM payments WHERE status = 'processing'`),
      (rows) => rows[0]?.n === 0,
      120_000,
      1000,
    );

    const payments = await stack.query<PaymentRow>(
      'payment',
      'SELECT id, partner_trans_id, status, amount_value, failure_code, reversed FROM payments',
    );
    const trades = await stack.query<TradeRow>(
      'sandbox',
      'SELECT partner_trans_id, status, close_action, amount_minor, pay_calls FROM sandbox_trade',
    );
    expect(payments.length).toBeGreaterThan(TOTAL - 2 * CLIENT_CONCURRENCY);
    const tradeById = new Map(trades.map((t) => [t.partner_trans_id, t]));
    const paymentById = new Map(payments.map((p) => [p.partner_trans_id, p]));

    // No charge without a record: every wallet trade belongs to a payment row.
    for (const t of trades)
      expect({ trade: t.partner_trans_id, recorded: paymentById.has(t.partner_trans_id) }).toEqual({
        trade: t.partner_trans_id,
        recorded: true,
      });

    const mismatches: unknown[] = [];
    for (const p of payments) {
      const t = tradeById.get(p.partner_trans_id);
      const agrees =
        p.status === 'succeeded'
          ? t?.status === 'TRADE_SUCCESS' && t.amount_minor === p.amount_value
          : p.status === 'failed'
            ? t === undefined || (t.status === 'TRADE_CLOSED' && t.close_action !== 'refund')
            : p.status === 'cancelled'
              ? t?.status === 'TRADE_CLOSED' && (p.reversed ? t.close_action === 'refund' : t.close_action !== 'refund')
              : false;
      if (!agrees) mismatches.push({ payment: p, trade: t ?? null });
      // Never a second pay for the same trade: unknown outcomes are resolved by query.
      if (t && t.pay_calls > 1) mismatches.push({ payment: p, trade: t, problem: 'pay sent twice' });
    }
    expect(mismatches).toEqual([]);

    // No record without its charge: succeeded in Admit = paid at the wallet, to the minor unit.
    const paidAdmit = payments.filter((p) => p.status === 'succeeded').reduce((s, p) => s + Number(p.amount_value), 0);
    const paidWallet = trades
      .filter((t) => t.status === 'TRADE_SUCCESS')
      .reduce((s, t) => s + Number(t.amount_minor), 0);
    expect(paidAdmit).toBe(paidWallet);

    // Each final state was published exactly once, across the crash.
    const events = await stack.query<{ key: string; type: string; n: number }>(
      'payment',
      `SELECT message_key AS key, headers->>'event-type' AS type, count(*)::int AS n FROM outbox_events
        WHERE headers->>'event-type' IN ('payment.succeeded', 'payment.failed', 'payment.cancelled') GROUP BY 1, 2`,
    );
    const expected = new Map(payments.map((p) => [p.id, `payment.${p.status}`]));
    const seen = new Map<string, string>();
    for (const e of events) {
      expect(e.n).toBe(1);
      expect(seen.has(e.key)).toBe(false);
      seen.set(e.key, e.type);
    }
    expect(seen).toEqual(expected);

    const summary = payments.reduce<Record<string, number>>((acc, p) => {
      const k =
        p.status === 'failed'
          ? `failed:${p.failure_code}`
          : p.status === 'cancelled'
            ? `cancelled:${p.reversed ? 'reversed' : 'closed'}`
            : p.status;
      acc[k] = (acc[k] ?? 0) + 1;
      return acc;
    }, {});
    process.stdout.write(
      `crash test: ${payments.length} payments, ${trades.length} wallet trades, ${outcomes.filter((o) => o === 'error').length} requests cut by the kill, ${processingAtKill} processing at kill; final ${JSON.stringify(summary)}\n`,
    );
  });
});
