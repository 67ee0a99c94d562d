import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { HEADERS, newId, payloadSchema, topicOf } from '@admit/contracts';
import { call, eventually, paymentCode, REPO_ROOT, startStack, type Stack } from '@admit/testing';

/**
 * Reporting on the real stack: a scripted day of sales, refunds, a cross-currency payment and
 * scans; the daily bill to the minor unit in JSON and CSV; reconciliation against the sandbox's
 * files (and tampered copies); kill -9 while ingesting; the rebuild command; bad input.
 */
jest.setTimeout(300_000);
// The rebuild test once exceeded 300 s inside the full suite under heavy load and passed alone (77 s);
// until the cause is found, a failure is retried once with its errors logged (rebuild.log kept).
jest.retryTimes(1, { logErrorsBeforeRetry: true });

const NAME = 'e2e_rep';
const cny = (value: number) => ({ value, currency: 'CNY' });
const jpy = (value: number) => ({ value, currency: 'JPY' });
const dayIn = (timeZone: string) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date());

type Shop = { id: string; key: string; attractionId: string; productId: string; gateKey: string };

describe('reporting end to end', () => {
  let stack: Stack;
  let urls: Stack['urls'];
  let acq: string;
  let zoo: Shop;
  let tower: Shop;
  let museum: Shop;
  let garden: Shop;
  const today = dayIn('Asia/Shanghai');
  const tokyoToday = dayIn('Asia/Tokyo');
  let inside = 0;

  beforeAll(async () => {
    stack = await startStack({ name: NAME, portBase: 19900 });
    urls = stack.urls;
    acq = stack.acquirerKey;
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  async function shop(name: string, timezone: string, currency: string, price: number): Promise<Shop> {
    const m = await call('POST', `${urls.payment}/v1/merchants`, {
      key: acq,
      body: { name, country: 'CN', city: 'Hangzhou', timezone, mcc: '7991', settlementCurrency: 'CNY' },
    });
    expect(m.status).toBe(201);
    const key: string = m.body.apiKey.secret;
    const attraction = await eventually(
      () => call('POST', `${urls.ticketing}/v1/attractions`, { key, body: { name, city: 'Hangzhou', timezone } }),
      (r) => r.status !== 401,
    );
    expect(attraction.status).toBe(201);
    const product = await call('POST', `${urls.ticketing}/v1/attractions/${attraction.body.id}/products`, {
      key,
      body: {
        name: 'Day ticket',
        kind: 'admission',
        price: { value: price, currency },
        entry: { maxEntries: 1, validity: 'day' },
        requiresSlot: false,
      },
    });
    expect(product.status).toBe(201);
    const gate = await call('POST', `${urls.payment}/v1/merchants/${m.body.id}/api-keys`, {
      key,
      body: { scope: 'gate', attractionId: attraction.body.id },
    });
    expect(gate.status).toBe(201);
    return {
      id: m.body.id,
      key,
      attractionId: attraction.body.id,
      productId: product.body.id,
      gateKey: gate.body.secret,
    };
  }

  /** An order of `quantity` tickets paid with a sandbox code that succeeds at once; returns ids and tickets. */
  async function sell(s: Shop, quantity: number, amount: { value: number; currency: string }) {
    const order = await call('POST', `${urls.ticketing}/v1/orders`, {
      key: s.key,
      body: { channel: 'counter', items: [{ productId: s.productId, quantity }] },
    });
    expect(order.status).toBe(201);
    expect(order.body.amountDue).toEqual(amount);
    const pay = await call('POST', `${urls.payment}/v1/payments`, {
      key: s.key,
      body: { orderId: order.body.id, amount, paymentCode: paymentCode(`0${100 + quantity}`) },
    });
    expect(pay.status).toBe(201);
    expect(pay.body.status).toBe('succeeded');
    return { orderId: order.body.id as string, payment: pay.body };
  }

  async function tickets(s: Shop, orderId: string): Promise<{ code: string }[]> {
    const o = await eventually(
      () => call('GET', `${urls.ticketing}/v1/orders/${orderId}`, { key: s.key }),
      (r) => r.body?.status === 'fulfilled',
    );
    return o.body.tickets;
  }

  async function refund(s: Shop, paymentId: string, amount: { value: number; currency: string }) {
    const r = await call('POST', `${urls.payment}/v1/payments/${paymentId}/refunds`, { key: s.key, body: { amount } });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('succeeded');
    return r.body;
  }

  async function scan(s: Shop, code: string, direction: 'in' | 'out', gateId: string) {
    const r = await eventually(
      () => call('POST', `${urls.ticketing}/v1/scans`, { key: s.gateKey, body: { code, gateId, direction } }),
      (x) => x.status !== 401,
    );
    expect(r.status).toBe(200);
    return r.body.result as string;
  }

  const daily = (merchantId?: string, date = today, accept?: string) =>
    call('GET', `${urls.reporting}/v1/reports/daily?date=${date}${merchantId ? `&merchantId=${merchantId}` : ''}`, {
      key: acq,
      ...(accept ? { headers: { accept } } : {}),
    });

  const zooTotals = {
    currency: 'CNY',
    gross: cny(20000),
    discounts: cny(0),
    refunds: cny(8000),
    // 60 bps half up: 10000 → 60, 5000 → 30, 5000 → 30
    fees: cny(120),
    net: cny(11880),
    paymentCount: 3,
    refundCount: 2,
    ticketCount: 4,
    settlement: { currency: 'CNY', gross: cny(20000), refunds: cny(8000), net: cny(12000) },
  };
  const towerTotals = {
    currency: 'JPY',
    gross: jpy(1200),
    discounts: jpy(0),
    refunds: jpy(0),
    fees: jpy(7),
    net: jpy(1193),
    paymentCount: 1,
    refundCount: 0,
    ticketCount: 1,
    // the wallet's rate JPY → CNY 0.048: 1200 JPY = CNY 57.60
    settlement: { currency: 'CNY', gross: cny(5760), refunds: cny(0), net: cny(5760) },
  };

  it('bills a scripted day to the minor unit, in JSON and CSV', async () => {
    zoo = await shop('City Zoo', 'Asia/Shanghai', 'CNY', 5000);
    tower = await shop('Tokyo Tower', 'Asia/Tokyo', 'JPY', 1200);

    const a = await sell(zoo, 2, cny(10000));
    const b = await sell(zoo, 1, cny(5000));
    const c = await sell(zoo, 1, cny(5000));
    const partial = await refund(zoo, a.payment.id, cny(3000));
    const full = await refund(zoo, b.payment.id, cny(5000));
    expect(partial.id).toMatch(/^rfd_/);
    expect(full.id).toMatch(/^rfd_/);
    const t = await sell(tower, 1, jpy(1200));
    expect(t.payment).toMatchObject({ exchangeRate: '0.048', settlementAmount: cny(5760) });

    // Scans in and out at two gates.
    const [ta1, ta2] = await tickets(zoo, a.orderId);
    const [tc] = await tickets(zoo, c.orderId);
    for (const [code, gate] of [
      [ta1!.code, 'north'],
      [ta2!.code, 'south'],
      [tc!.code, 'north'],
    ] as const) {
      if ((await scan(zoo, code, 'in', gate)) === 'admitted') inside += 1;
    }
    expect(inside).toBe(3);
    if ((await scan(zoo, ta1!.code, 'out', 'north')) === 'admitted') inside -= 1;

    const zooDay = await eventually(
      () => daily(zoo.id),
      (r) => r.body?.totals?.[0]?.ticketCount === 4 && r.body.totals[0].refundCount === 2,
      60_000,
    );
    expect(zooDay.status).toBe(200);
    expect(zooDay.body).toEqual({ date: today, merchantId: zoo.id, totals: [zooTotals] });
    const towerDay = await eventually(
      () => daily(tower.id, tokyoToday),
      (r) => r.body?.totals?.[0]?.ticketCount === 1,
      60_000,
    );
    expect(towerDay.body).toEqual({ date: tokyoToday, merchantId: tower.id, totals: [towerTotals] });

    // The merchant sees its own bill whatever merchantId it sends.
    const own = await call('GET', `${urls.reporting}/v1/reports/daily?date=${today}`, { key: zoo.key });
    expect(own.body).toEqual({ date: today, merchantId: zoo.id, totals: [zooTotals] });

    // CSV: same figures in major units.
    const csv = await daily(zoo.id, today, 'text/csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = parse(csv.body as unknown as string, { columns: true }) as Record<string, string>[];
    expect(rows).toEqual([
      {
        date: today,
        merchantId: zoo.id,
        currency: 'CNY',
        gross: '200.00',
        discounts: '0.00',
        refunds: '80.00',
        fees: '1.20',
        net: '118.80',
        paymentCount: '3',
        refundCount: '2',
        ticketCount: '4',
        settlementCurrency: 'CNY',
        settlementGross: '200.00',
        settlementRefunds: '80.00',
        settlementNet: '120.00',
      },
    ]);
    const towerCsv = await daily(tower.id, tokyoToday, 'text/csv');
    const towerRows = parse(towerCsv.body as unknown as string, { columns: true }) as Record<string, string>[];
    expect(towerRows[0]).toMatchObject({
      currency: 'JPY',
      gross: '1200',
      fees: '7',
      net: '1193',
      settlementGross: '57.60',
    });

    // Visitor flow and occupancy.
    const occupancy = await eventually(
      () => call('GET', `${urls.reporting}/v1/reports/occupancy?attractionId=${zoo.attractionId}`, { key: zoo.key }),
      (r) => r.body?.inside === inside,
    );
    expect(occupancy.body.inside).toBe(inside);
    const flow = await call(
      'GET',
      `${urls.reporting}/v1/reports/visitor-flow?attractionId=${zoo.attractionId}&date=${today}`,
      { key: acq },
    );
    expect(flow.status).toBe(200);
    const admissions = (flow.body.buckets as { admissions: number }[]).reduce((n, b) => n + b.admissions, 0);
    expect(admissions).toBe(3);
    expect(flow.body.peak.admissions).toBeGreaterThan(0);
  });

  async function walletFile(kind: 'transaction' | 'settlement'): Promise<string> {
    const r = await fetch(`${urls.sandbox}/files/${kind}/${today}`);
    expect(r.status).toBe(200);
    return r.text();
  }
  // Kafka topics are shared by every stack on this machine, so reporting's ledger also holds other
  // stacks' payments: reconcile against this stack's merchants (the sandbox's file is this stack's).
  const reconcileFile = (kind: string, content: string, date = today) =>
    call('POST', `${urls.reporting}/v1/reconciliations`, {
      key: acq,
      body: { kind, date, content, merchantIds: [zoo.id, tower.id] },
    });

  /** Rewrites a file's records (and its Total_count) with `edit`. */
  function tamper(content: string, edit: (rows: string[]) => string[]): string {
    const [header, columns, ...rest] = content.split('\n').filter((l) => l !== '');
    const rows = edit(rest);
    return [header!.replace(/Total_count:\d+/, `Total_count:${rows.length}`), columns!, ...rows].join('\n') + '\n';
  }

  it('reconciles the wallet files of the day: fully matched, tampered copies classified', async () => {
    for (const kind of ['transaction', 'settlement'] as const) {
      const content = await walletFile(kind);
      const rec = await reconcileFile(kind, content);
      expect(rec.status).toBe(201);
      expect(rec.body.id).toMatch(/^rec_/);
      // 4 payments, 2 refunds, nothing else.
      expect(rec.body.summary).toEqual({
        matched: 6,
        missingInLedger: 0,
        missingInWallet: 0,
        amountMismatch: 0,
        feeMismatch: 0,
      });
      const got = await call('GET', `${urls.reporting}/v1/reconciliations/${rec.body.id}`, { key: acq });
      expect(got.body).toEqual(rec.body);
      const csv = await call('GET', `${urls.reporting}/v1/reconciliations/${rec.body.id}`, {
        key: acq,
        headers: { accept: 'text/csv' },
      });
      const lines = parse(csv.body as unknown as string, { columns: true }) as Record<string, string>[];
      expect(lines).toHaveLength(6);
      expect(new Set(lines.map((l) => l['status']))).toEqual(new Set(['matched']));
    }

    const content = await walletFile('transaction');
    const payRow = (rows: string[]) => rows.findIndex((r) => r.includes('|PAYMENT|') && r.includes('|CNY|'));

    const missing = await reconcileFile(
      'transaction',
      tamper(content, (rows) => rows.filter((_, i) => i !== payRow(rows))),
    );
    expect(missing.body.summary).toMatchObject({ matched: 5, missingInWallet: 1, missingInLedger: 0 });

    const changed = await reconcileFile(
      'transaction',
      tamper(content, (rows) =>
        rows.map((r, i) => {
          if (i !== payRow(rows)) return r;
          const f = r.split('|');
          f[2] = (Number(f[2]) + 0.01).toFixed(2);
          return f.join('|');
        }),
      ),
    );
    expect(changed.body.summary).toMatchObject({ matched: 5, amountMismatch: 1 });
    const mismatch = (changed.body.lines as { status: string; expected: unknown; actual: unknown }[]).find(
      (l) => l.status === 'amountMismatch',
    );
    expect(mismatch?.expected).toBeTruthy();
    expect(mismatch?.actual).toBeTruthy();

    const extra = await reconcileFile(
      'transaction',
      tamper(content, (rows) => {
        const f = rows[payRow(rows)]!.split('|');
        f[0] = 'pay_0000000000000000000000000';
        f[1] = '2099010122000000000000000099';
        return [...rows, f.join('|')];
      }),
    );
    expect(extra.body.summary).toMatchObject({ matched: 6, missingInLedger: 1 });

    const fee = await reconcileFile(
      'transaction',
      tamper(content, (rows) =>
        rows.map((r, i) => {
          if (i !== payRow(rows)) return r;
          const f = r.split('|');
          f[3] = (Number(f[3]) + 0.01).toFixed(2);
          return f.join('|');
        }),
      ),
    );
    expect(fee.body.summary).toMatchObject({ matched: 5, feeMismatch: 1 });

    // Mismatches are published for operations.
    const published = await eventually(
      () =>
        stack.query<{ n: number }>(
          'reporting',
          `SELECT count(*)::int AS n FROM outbox_published WHERE value LIKE '%"type":"reconciliation.mismatch"%'`,
        ),
      (r) => (r[0]?.n ?? 0) >= 4,
    );
    expect(published[0]!.n).toBe(4);

    const list = await call('GET', `${urls.reporting}/v1/reconciliations?limit=2`, { key: acq });
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(2);
    expect(list.body.nextCursor).toBeTruthy();
  });

  it('rejects malformed files and bad parameters with the error shape', async () => {
    const content = await walletFile('transaction');
    const badHeader = await reconcileFile('transaction', content.replace(/^Partner:/, 'Partner='));
    expect(badHeader.status).toBe(422);
    expect(badHeader.body.error).toMatchObject({ code: 'MALFORMED_FILE' });
    expect(badHeader.body.error.details[0].message).toMatch(/^line 1:/);

    const badRow = await reconcileFile(
      'transaction',
      tamper(content, (rows) => rows.map((r, i) => (i === 1 ? r.replace(/\|(PAYMENT|REFUND)\|/, '|GIFT|') : r))),
    );
    expect(badRow.status).toBe(422);
    expect(badRow.body.error.details[0].message).toMatch(/^line 4:/);

    const wrongDate = await reconcileFile('transaction', content, '2020-01-01');
    expect(wrongDate.status).toBe(422);
    expect(wrongDate.body.error.code).toBe('FILE_DATE_MISMATCH');

    for (const body of [
      { kind: 'ledger', date: today, content },
      { kind: 'transaction', date: '2026-02-30', content },
      { kind: 'transaction', date: today, content: '' },
      { kind: 'transaction', date: today, content, extra: 1 },
      {},
    ]) {
      const r = await call('POST', `${urls.reporting}/v1/reconciliations`, { key: acq, body });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'VALIDATION_FAILED', requestId: expect.any(String) });
    }
    const merchantTries = await call('POST', `${urls.reporting}/v1/reconciliations`, {
      key: zoo.key,
      body: { kind: 'transaction', date: today, content },
    });
    expect(merchantTries.status).toBe(403);

    for (const q of ['date=2026-13-01', 'date=yesterday', '', `date=${today}&merchantId=nope`, `date=${today}&x=1`]) {
      const r = await call('GET', `${urls.reporting}/v1/reports/daily?${q}`, { key: acq });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await call('GET', `${urls.reporting}/v1/reconciliations/nope`, { key: acq })).status).toBe(404);
    const unknown = `rec_${'0'.repeat(25)}`;
    expect((await call('GET', `${urls.reporting}/v1/reconciliations/${unknown}`, { key: acq })).status).toBe(404);
    expect((await call('GET', `${urls.reporting}/v1/reconciliations?limit=0`, { key: acq })).status).toBe(400);
  });

  it('counts exactly once across a kill -9 while ingesting', async () => {
    museum = await shop('Silk Museum', 'Asia/Shanghai', 'CNY', 3000);
    const SALES = 6;
    // Reporting ingests the first sales, dies with kill -9 mid-stream, the rest pile up in Kafka.
    for (let i = 0; i < SALES; i++) {
      if (i === 2) stack.kill('reporting');
      await sell(museum, 1, cny(3000));
    }
    await stack.restart('reporting');
    const day = await eventually(
      () => daily(museum.id),
      (r) => r.body?.totals?.[0]?.paymentCount === SALES && r.body.totals[0].ticketCount === SALES,
      90_000,
    );
    expect(day.body.totals[0]).toMatchObject({
      gross: cny(3000 * SALES),
      fees: cny(18 * SALES),
      paymentCount: SALES,
      ticketCount: SALES,
    });
    // Nothing counted twice: the bill stays put.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await daily(museum.id)).body).toEqual(day.body);
  });

  it('books a coupon discount on the day: gross carries it, discounts take it off', async () => {
    // The discount reaches reporting as promotions' coupon.redeemed for the paid order. Published
    // here with the contract's schema so these figures do not depend on the coupon saga's state.
    garden = await shop('Lotus Garden', 'Asia/Shanghai', 'CNY', 4000);
    const sale = await sell(garden, 1, cny(4000));
    const payload = payloadSchema('coupon.redeemed', 1)!.parse({
      couponId: newId('coupon'),
      campaignId: newId('campaign'),
      merchantId: garden.id,
      orderId: sale.orderId,
      discount: cny(1000),
      redeemedAt: new Date().toISOString(),
    }) as { couponId: string };
    const kafka = new Kafka({
      clientId: 'e2e-rep',
      brokers: (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092').split(','),
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      const eventId = randomUUID();
      const value = JSON.stringify({
        eventId,
        type: 'coupon.redeemed',
        schemaVersion: 1,
        occurredAt: new Date().toISOString(),
        merchantId: garden.id,
        correlationId: randomUUID(),
        causationId: null,
        aggregateType: 'coupon',
        aggregateId: payload.couponId,
        payload,
      });
      const headers = {
        [HEADERS.eventId]: eventId,
        [HEADERS.eventType]: 'coupon.redeemed',
        [HEADERS.schemaVersion]: '1',
        [HEADERS.correlationId]: randomUUID(),
      };
      // Delivered twice: counted once.
      for (let i = 0; i < 2; i++)
        await producer.send({
          topic: topicOf('coupon.redeemed'),
          messages: [{ key: payload.couponId, value, headers }],
        });
    } finally {
      await producer.disconnect();
    }
    const day = await eventually(
      () => daily(garden.id),
      (r) => r.body?.totals?.[0]?.discounts?.value === 1000 && r.body.totals[0].ticketCount === 1,
      60_000,
    );
    expect(day.body.totals).toEqual([
      expect.objectContaining({
        gross: cny(5000),
        discounts: cny(1000),
        fees: cny(24),
        net: cny(3976),
        paymentCount: 1,
        ticketCount: 1,
      }),
    ]);
  });

  it('serves the dashboard: sign in with the acquirer key, sales, reconciliation status, flow charts', async () => {
    const page = await fetch(`${urls.reporting}/dashboard`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/dashboard/chart.umd.min.js');
    const chart = await fetch(`${urls.reporting}/dashboard/chart.umd.min.js`);
    expect(chart.status).toBe(200);
    expect((await chart.text()).length).toBeGreaterThan(10_000);
    expect((await call('GET', `${urls.reporting}/v1/dashboard/summary`)).status).toBe(401);
    expect((await call('GET', `${urls.reporting}/v1/dashboard/summary`, { key: zoo.key })).status).toBe(403);
    const summary = await call('GET', `${urls.reporting}/v1/dashboard/summary?date=${today}`, { key: acq });
    expect(summary.status).toBe(200);
    expect(summary.body.sales).toEqual(
      expect.arrayContaining([expect.objectContaining({ merchantId: zoo.id, gross: cny(20000), refunds: cny(8000) })]),
    );
    expect(summary.body.reconciliations.length).toBeGreaterThan(0);
    expect(summary.body.visitorFlow).toEqual(
      expect.arrayContaining([expect.objectContaining({ attractionId: zoo.attractionId })]),
    );

    const chromium = '/usr/bin/chromium';
    const playwright = join(REPO_ROOT, 'node_modules/playwright-core');
    if (!existsSync(chromium) || !existsSync(playwright)) {
      console.warn(
        `dashboard screenshot SKIPPED: needs ${chromium} and node_modules/playwright-core (found: chromium=${existsSync(chromium)}, playwright-core=${existsSync(playwright)})`,
      );
      return;
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { chromium: launcher } = require(playwright) as {
      chromium: { launch(o: { executablePath: string; args?: string[] }): Promise<any> };
    };
    const browser = await launcher.launch({ executablePath: chromium, args: ['--no-sandbox'] });
    try {
      const tab = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      await tab.goto(`${urls.reporting}/dashboard`);
      await tab.fill('#key', acq);
      await tab.click('button[type=submit]');
      await tab.waitForSelector('body[data-loaded=true]', { timeout: 15_000 });
      expect(await tab.textContent('#sales')).toContain('City Zoo');
      mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
      await tab.screenshot({ path: join(REPO_ROOT, 'test-artifacts/dashboard.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('rebuilds the read models from the topics with identical reports', async () => {
    // Per merchant: the acquirer-wide bill also sums other stacks' merchants (shared topics).
    const snapshot = async () => ({
      zoo: (await daily(zoo.id)).body,
      tower: (await daily(tower.id, tokyoToday)).body,
      museum: (await daily(museum.id)).body,
      garden: (await daily(garden.id)).body,
      flow: (
        await call('GET', `${urls.reporting}/v1/reports/visitor-flow?attractionId=${zoo.attractionId}&date=${today}`, {
          key: acq,
        })
      ).body,
      inside: (
        await call('GET', `${urls.reporting}/v1/reports/occupancy?attractionId=${zoo.attractionId}`, { key: acq })
      ).body.inside,
    });
    const before = await snapshot();
    expect(before.zoo.totals).toEqual([zooTotals]);

    stack.kill('reporting');
    const out = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'dist/services/reporting/src/rebuild.js')], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          ADMIT_ACQUIRER_KEY: acq,
          KAFKA_BROKERS: process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092',
          REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
          KAFKA_GROUP_PREFIX: `${NAME}.`,
          REPORTING_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${stack.databases.reporting}`,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.on('exit', (code) => {
        writeFileSync(join(REPO_ROOT, 'test-artifacts', 'logs', NAME, 'rebuild.log'), output);
        resolve({ code, output });
      });
    });
    expect(out.output).toContain('"rebuilt":true');
    expect(out.code).toBe(0);
    await stack.restart('reporting');
    const after = await snapshot();
    expect(after).toEqual(before);
  });
});
