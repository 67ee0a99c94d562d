import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { call, eventually, paymentCode, startStack, type Stack } from '@admit/testing';

/**
 * The visitor's e-ticket page in a real headless Chromium (Debian's `chromium` package driven by
 * playwright-core): the QR code is an SVG, the attraction, product and status are shown; a
 * screenshot is kept in test-artifacts/ticket-page.png.
 */
jest.setTimeout(240_000);

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(`SKIPPED e-ticket page test: ${CHROMIUM} is absent (apt-get install -y chromium).`);
}
const maybe = haveChromium ? describe : describe.skip;

maybe('e-ticket page in headless Chromium', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ name: 'e2e_tkt_page', portBase: 19600 });
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('shows the QR, attraction, product and status, and saves a screenshot', async () => {
    const onboard = await call('POST', `${stack.urls.payment}/v1/merchants`, {
      key: stack.acquirerKey,
      body: {
        name: 'Leifeng Pagoda',
        country: 'CN',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7991',
        settlementCurrency: 'CNY',
      },
    });
    const key: string = onboard.body.apiKey.secret;
    const attraction = await eventually(
      () =>
        call('POST', `${stack.urls.ticketing}/v1/attractions`, {
          key,
          body: { name: 'Leifeng Pagoda', city: 'Hangzhou', timezone: 'Asia/Shanghai' },
        }),
      (r) => r.status !== 401,
    );
    const product = await call('POST', `${stack.urls.ticketing}/v1/attractions/${attraction.body.id}/products`, {
      key,
      body: {
        name: 'Sunset entry',
        kind: 'admission',
        price: { value: 4000, currency: 'CNY' },
        entry: { maxEntries: 1, validity: 'day' },
        requiresSlot: false,
      },
    });
    const code = paymentCode('0123');
    const order = await call('POST', `${stack.urls.ticketing}/v1/orders`, {
      key,
      body: { channel: 'online', items: [{ productId: product.body.id, quantity: 1 }] },
    });
    // The payment service learns the order from Kafka; retry (same Idempotency-Key) until it does.
    const payment = await eventually(
      () =>
        call('POST', `${stack.urls.payment}/v1/payments`, {
          key,
          body: { orderId: order.body.id, amount: { value: 4000, currency: 'CNY' }, paymentCode: code },
          headers: { 'idempotency-key': `page-${order.body.id}` },
        }),
      (r) => r.status !== 404 && r.status !== 409,
    );
    expect(payment.body.status).toBe('succeeded');
    const done = await eventually(
      () => call('GET', `${stack.urls.ticketing}/v1/orders/${order.body.id}`, { key }),
      (r) => r.body?.status === 'fulfilled',
    );
    const ticket = done.body.tickets[0];

    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
      const res = await page.goto(`${stack.urls.ticketing}/t/${encodeURIComponent(ticket.code)}`);
      expect(res?.status()).toBe(200);
      const svg = page.locator('.qr svg');
      expect(await svg.count()).toBe(1);
      const box = await svg.boundingBox();
      expect(box!.width).toBeGreaterThan(200);
      expect(await page.locator('h1').textContent()).toBe('Leifeng Pagoda');
      expect(await page.textContent('body')).toContain('Sunset entry');
      expect(await page.locator('[data-testid=status]').textContent()).toBe('valid');
      const dir = join(__dirname, '../../test-artifacts');
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'ticket-page.png'), fullPage: true });
      expect(existsSync(join(dir, 'ticket-page.png'))).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
