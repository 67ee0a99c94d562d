import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { call, eventually, REPO_ROOT, startStack, type Stack } from '@admit/testing';

/**
 * The visitors' offers page in a real headless Chromium: open /offers?city=, type a customer
 * reference, click Claim, see the code; screenshot to test-artifacts/offers-page.png. Needs
 * /usr/bin/chromium and playwright-core; skipped (with a message) when they are absent.
 */
jest.setTimeout(180_000);

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const PLAYWRIGHT = join(REPO_ROOT, 'node_modules', 'playwright-core');
const available = existsSync(CHROMIUM) && existsSync(PLAYWRIGHT);
if (!available) {
  console.warn(`offers page browser test skipped: needs ${CHROMIUM} and ${PLAYWRIGHT}`);
}
const maybe = available ? describe : describe.skip;

type Page = {
  goto(url: string): Promise<unknown>;
  fill(selector: string, value: string): Promise<void>;
  click(selector: string): Promise<void>;
  waitForSelector(selector: string, o?: { timeout?: number }): Promise<unknown>;
  textContent(selector: string): Promise<string | null>;
  screenshot(o: { path: string; fullPage?: boolean }): Promise<unknown>;
};
type Browser = { newPage(o?: { viewport?: { width: number; height: number } }): Promise<Page>; close(): Promise<void> };

maybe('offers page in a browser', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    stack = await startStack({ name: 'e2e_promo_page', portBase: 19800 });
    const pw = (await import(PLAYWRIGHT)) as { chromium: { launch(o: object): Promise<Browser> } };
    browser = await pw.chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('claims a coupon from the page', async () => {
    const onboard = await call('POST', `${stack.urls.payment}/v1/merchants`, {
      key: stack.acquirerKey,
      body: {
        name: 'Pagoda',
        country: 'CN',
        city: 'Suzhou',
        timezone: 'Asia/Shanghai',
        mcc: '7991',
        settlementCurrency: 'CNY',
      },
    });
    const key: string = onboard.body.apiKey.secret;
    const created = await eventually(
      () =>
        call('POST', `${stack.urls.promotions}/v1/campaigns`, {
          key,
          body: {
            name: 'Garden café 20%',
            trigger: 'claim',
            city: 'Suzhou',
            discount: { percentOff: 20 },
            validFrom: '2026-01-01',
            validTo: '2030-12-31',
          },
        }),
      (r) => r.status !== 401,
      150_000,
      500,
    );
    expect(created.status).toBe(201);
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${stack.urls.promotions}/offers?city=Suzhou`);
    await page.fill(`form[data-campaign-id="${created.body.id}"] input[name=customerReference]`, 'visitor-page');
    await page.click(`form[data-campaign-id="${created.body.id}"] button`);
    await page.waitForSelector(`form[data-campaign-id="${created.body.id}"] .code`, { timeout: 15_000 });
    const code = await page.textContent(`form[data-campaign-id="${created.body.id}"] .code`);
    expect(code).toMatch(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    await mkdir(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'offers-page.png'), fullPage: true });
    const coupons = await call('GET', `${stack.urls.promotions}/v1/coupons?customerReference=visitor-page`, { key });
    expect(coupons.body.data).toEqual([expect.objectContaining({ code })]);
  });
});
