#!/usr/bin/env node
// Demo data for `npm start`: one merchant, its keys, an attraction and an admission product.
// Idempotent across restarts: keys (shown only once by the API) are kept in .run/demo-keys.json.
const fs = require('node:fs');
const path = require('node:path');

const env = process.env;
const url = (port) => `http://127.0.0.1:${port}`;
const payment = url(env.PAYMENT_PORT || 3001);
const ticketing = url(env.TICKETING_PORT || 3002);
const keysFile = path.join(__dirname, '..', '.run', 'demo-keys.json');

async function call(method, u, key, body, headers = {}) {
  const res = await fetch(u, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function until(fn, ok, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const r = await fn();
    if (ok(r)) return r;
    if (Date.now() > end) throw new Error(`demo seed: gave up waiting: ${JSON.stringify(r.body)}`);
    await new Promise((r2) => setTimeout(r2, 300));
  }
}

async function main() {
  const acquirer = env.ADMIT_ACQUIRER_KEY;
  let saved = fs.existsSync(keysFile) ? JSON.parse(fs.readFileSync(keysFile, 'utf8')) : null;
  const list = await call('GET', `${payment}/v1/merchants?limit=100`, acquirer);
  let merchant = list.body.data.find((m) => saved && m.id === saved.merchantId);
  if (!merchant) {
    const created = await call('POST', `${payment}/v1/merchants`, acquirer, {
      name: 'Admit Demo Zoo',
      country: 'CN',
      city: 'Hangzhou',
      timezone: 'Asia/Shanghai',
      mcc: '7991',
      settlementCurrency: 'CNY',
    });
    if (created.status !== 201) throw new Error(`onboarding failed: ${JSON.stringify(created.body)}`);
    merchant = created.body;
    saved = { merchantId: merchant.id, merchantKey: created.body.apiKey.secret };
    fs.writeFileSync(keysFile, JSON.stringify(saved, null, 2), { mode: 0o600 });
  }
  const key = saved.merchantKey;
  const attractions = await until(
    () => call('GET', `${ticketing}/v1/attractions?limit=100`, key),
    (r) => r.status === 200,
  );
  let attraction = attractions.body.data[0];
  if (!attraction) {
    attraction = (
      await call('POST', `${ticketing}/v1/attractions`, key, {
        name: 'Admit Demo Zoo',
        city: 'Hangzhou',
        timezone: 'Asia/Shanghai',
      })
    ).body;
  }
  const products = await call('GET', `${ticketing}/v1/attractions/${attraction.id}/products`, key);
  let product = products.body.data[0];
  if (!product) {
    product = (
      await call('POST', `${ticketing}/v1/attractions/${attraction.id}/products`, key, {
        name: 'Adult day ticket',
        kind: 'admission',
        price: { value: 12000, currency: 'CNY' },
        entry: { maxEntries: 1, validity: 'day' },
        requiresSlot: false,
      })
    ).body;
  }
  if (!saved.gateKey) {
    const gate = await call('POST', `${payment}/v1/merchants/${merchant.id}/api-keys`, key, {
      scope: 'gate',
      attractionId: attraction.id,
    });
    saved.gateKey = gate.body.secret;
    fs.writeFileSync(keysFile, JSON.stringify(saved, null, 2), { mode: 0o600 });
  }
  process.stdout.write(
    JSON.stringify({ merchant, merchantKey: saved.merchantKey, gateKey: saved.gateKey, attraction, product }, null, 2),
  );
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
