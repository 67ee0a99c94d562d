import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
// Test-only and deliberate: the integration tests drive the sandbox with the real adapter of the
// payment service (two independent implementations of the protocol checking each other). The
// sandbox's own code (src/) imports nothing from services/.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { AlipayMapiGateway, type AlipayMapiConfig, type PayInput } from '../../../services/payment/src/wallet';
import { startSandbox, type RunningSandbox } from '../src/sandbox-server';
import type { SandboxOptions } from '../src/sandbox-config';

export const TEST_DATABASE_URL =
  process.env['SANDBOX_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/admit_wallet_sandbox_test';

export const TEST_MD5_KEY = 'testmd5key0123456789abcdefABCDEF';

/** A partner id of its own per test file, so files and listings only show that file's trades. */
export function randomPartnerId(): string {
  return `2088${crypto.randomInt(100_000, 999_999)}${crypto.randomInt(100_000, 999_999)}`;
}

/** A payment code (18 digits starting with 28) ending in the given four digits. */
export function paymentCode(lastFour: string): string {
  return `28${crypto.randomInt(0, 999_999_999).toString().padStart(12, '0').slice(0, 12)}${lastFour}`;
}

export function transId(prefix = 'pay'): string {
  return `${prefix}_${crypto.randomBytes(8).toString('hex')}`;
}

export type Harness = {
  sandbox: RunningSandbox;
  gateway: AlipayMapiGateway;
  partnerId: string;
  makeGateway(overrides?: Partial<AlipayMapiConfig>): AlipayMapiGateway;
  close(): Promise<void>;
};

export async function startHarness(
  sandboxOptions: Partial<SandboxOptions> = {},
  gatewayOverrides: Partial<AlipayMapiConfig> = {},
): Promise<Harness> {
  const partnerId = sandboxOptions.partnerId ?? randomPartnerId();
  const sandbox = await startSandbox({
    port: 0,
    databaseUrl: TEST_DATABASE_URL,
    partnerId,
    md5Key: TEST_MD5_KEY,
    tickMs: 50,
    log: () => undefined,
    ...sandboxOptions,
  });
  const gateways: AlipayMapiGateway[] = [];
  // With RSA2 and generated dev keys, the adapter uses the merchant private key and the wallet public key.
  const devKeyConfig: Partial<AlipayMapiConfig> =
    sandbox.devKeys !== undefined
      ? {
          privateKeyPem: fs.readFileSync(sandbox.devKeys.merchantPrivateKeyPath, 'utf8'),
          walletPublicKeyPem: fs.readFileSync(sandbox.devKeys.walletPublicKeyPath, 'utf8'),
        }
      : {};
  const makeGateway = (overrides: Partial<AlipayMapiConfig> = {}): AlipayMapiGateway => {
    const gateway = new AlipayMapiGateway({
      gatewayUrl: sandbox.gatewayUrl,
      partnerId,
      signType: 'MD5',
      md5Key: TEST_MD5_KEY,
      timeoutMs: 5_000,
      ...devKeyConfig,
      ...gatewayOverrides,
      ...overrides,
    });
    gateways.push(gateway);
    return gateway;
  };
  const gateway = makeGateway();
  return {
    sandbox,
    gateway,
    partnerId,
    makeGateway,
    close: async () => {
      for (const g of gateways) g.close();
      await sandbox.close();
    },
  };
}

export function payInput(code: string, overrides: Partial<PayInput> = {}): PayInput {
  return {
    partnerTransId: transId(),
    amount: { value: 12_50, currency: 'CNY' },
    paymentCode: code,
    subject: 'Zoo day ticket x1',
    merchant: {
      id: 'mch_zoo1',
      name: 'City Zoo',
      mcc: '7991',
      storeId: 'store_gate_a',
      storeName: 'Gate A ticket office',
    },
    ...overrides,
  };
}

export type SandboxTradeJson = {
  partnerTransId: string;
  alipayTransId: string;
  status: string;
  behaviour: string;
  failCode: string | null;
  amount: { value: number; currency: string };
  exchangeRate: string | null;
  amountCny: { value: number; currency: string } | null;
  fee: { value: number; currency: string };
  refunded: { value: number; currency: string };
  refunds: Array<{ partnerRefundId: string; amount: { value: number; currency: string } }>;
  payCalls: number;
  closeAction: string | null;
  reversalType: string | null;
  secondaryMerchantId: string | null;
  storeId: string | null;
};

export async function sandboxTrades(
  sandbox: RunningSandbox,
  query: Record<string, string>,
): Promise<SandboxTradeJson[]> {
  const res = await fetch(`${sandbox.url}/trades?${new URLSearchParams(query).toString()}`);
  if (res.status !== 200) throw new Error(`GET /trades answered ${res.status}`);
  const body = (await res.json()) as { data: SandboxTradeJson[] };
  return body.data;
}

export async function sandboxTrade(
  sandbox: RunningSandbox,
  partnerTransId: string,
): Promise<SandboxTradeJson | undefined> {
  return (await sandboxTrades(sandbox, { partnerTransId }))[0];
}

/** Posts a raw, already-built form to the gateway and returns the body text. */
export async function postRaw(
  sandbox: RunningSandbox,
  params: Record<string, string>,
  charsetInUrl = true,
): Promise<{ status: number; text: string }> {
  const url = charsetInUrl ? `${sandbox.gatewayUrl}?_input_charset=UTF-8` : sandbox.gatewayUrl;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, text: await res.text() };
}

/** A tiny merchant notification endpoint that records what it receives and answers as told. */
export type NotifyReceiver = {
  url: string;
  received: Array<Record<string, string>>;
  /** What to answer to the next requests (default `success`). */
  answers: string[];
  close(): Promise<void>;
};

export async function startNotifyReceiver(): Promise<NotifyReceiver> {
  const received: Array<Record<string, string>> = [];
  const answers: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const form: Record<string, string> = {};
      for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) form[k] = v;
      received.push(form);
      const answer = answers.shift() ?? 'success';
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/wallets/alipay/notify`,
    received,
    answers,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
