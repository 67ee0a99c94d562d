import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { settlementFile, transactionFile } from './daily-files';
import { FaultInjector, faultSchema } from './fault-injector';
import {
  SANDBOX_SERVICES,
  acquireCancel,
  isSandboxService,
  overseasQuery,
  promoteDueTrades,
  secmerchantMaintain,
  spotPay,
  spotRefund,
  type SandboxService,
  type ServiceAnswer,
  type ServiceContext,
} from './gateway-services';
import { deliverDueNotifications, listNotifications, type NotificationContext } from './notification-outbox';
import { defaultSandboxOptions, type SandboxOptions } from './sandbox-config';
import { ensureDatabase, migrate } from './sandbox-database';
import { ensureDevKeys, readPem, type DevKeyFiles } from './sandbox-keys';
import { merchantSignatureValid, preSignString, type SandboxKeys } from './sandbox-signer';
import { errorEnvelope, successEnvelope } from './sandbox-xml';
import { beijingDateTime, beijingDayRange } from './sandbox-time';
import { formatWalletAmount } from './sandbox-money';
import { listRefundsOfTrade, listTrades, type TradeRecord } from './trade-repository';

export type RunningSandbox = {
  /** Base URL, e.g. `http://127.0.0.1:3010`. */
  url: string;
  /** The mapi gateway URL to configure in the adapter (`<url>/gateway.do`). */
  gatewayUrl: string;
  port: number;
  options: Readonly<SandboxOptions>;
  /** Set when RSA2 dev keys were generated or reused from `keyDir`. */
  devKeys?: DevKeyFiles;
  /** Test-only fault injection (also reachable over HTTP at /control/faults). */
  faults: FaultInjector;
  /** Runs one background tick now (buyer confirmations, notification deliveries). */
  tick(): Promise<void>;
  close(): Promise<void>;
};

const MAX_BODY_BYTES = 64 * 1024;

class AbortableSleeps {
  private readonly controller = new AbortController();

  /** Resolves after `ms`, or at once when the sandbox closes. */
  async sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.controller.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.controller.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done);
    });
  }

  abortAll(): void {
    this.controller.abort();
  }
}

function loadKeys(options: SandboxOptions): { keys: SandboxKeys; devKeys?: DevKeyFiles } {
  if (options.signType === 'MD5') return { keys: { signType: 'MD5', md5Key: options.md5Key } };
  let privatePem = options.privateKeyPem !== undefined ? readPem(options.privateKeyPem) : undefined;
  let merchantPem = options.merchantPublicKeyPem !== undefined ? readPem(options.merchantPublicKeyPem) : undefined;
  let devKeys: DevKeyFiles | undefined;
  if (privatePem === undefined || merchantPem === undefined) {
    devKeys = ensureDevKeys(options.keyDir);
    privatePem ??= readPem(devKeys.walletPrivateKeyPath);
    merchantPem ??= readPem(devKeys.merchantPublicKeyPath);
    options.log(
      `RSA2 dev keys in ${devKeys.dir}: the adapter signs with ${devKeys.merchantPrivateKeyPath} ` +
        `and verifies with ${devKeys.walletPublicKeyPath}`,
    );
  }
  const keys: SandboxKeys = {
    signType: 'RSA2',
    md5Key: options.md5Key,
    walletPrivateKey: crypto.createPrivateKey(privatePem),
    merchantPublicKey: crypto.createPublicKey(merchantPem),
  };
  return devKeys === undefined ? { keys } : { keys, devKeys };
}

async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

function sendXml(res: http.ServerResponse, xml: string): void {
  send(res, 200, 'text/xml; charset=UTF-8', xml);
}

function tradeJson(
  trade: TradeRecord,
  refunds: Array<{ partnerRefundId: string; amountMinor: number; createdAt: Date }>,
): Record<string, unknown> {
  return {
    partnerTransId: trade.partnerTransId,
    alipayTransId: trade.alipayTransId,
    status: trade.status,
    behaviour: trade.behaviour,
    failCode: trade.failCode,
    amount: { value: trade.amountMinor, currency: trade.currency },
    amountText: formatWalletAmount(trade.amountMinor, trade.currency),
    exchangeRate: trade.currency === 'CNY' ? null : trade.exchangeRate,
    amountCny: trade.amountCnyMinor === null ? null : { value: trade.amountCnyMinor, currency: 'CNY' },
    fee: { value: trade.feeMinor, currency: trade.currency },
    refunded: { value: trade.refundedMinor, currency: trade.currency },
    refunds: refunds.map((r) => ({
      partnerRefundId: r.partnerRefundId,
      amount: { value: r.amountMinor, currency: trade.currency },
      createdAt: r.createdAt.toISOString(),
    })),
    buyerIdentityCode: trade.buyerIdentityCode,
    buyerUserId: trade.buyerUserId,
    transName: trade.transName,
    secondaryMerchantId: trade.secondaryMerchantId,
    secondaryMerchantName: trade.secondaryMerchantName,
    storeId: trade.storeId,
    storeName: trade.storeName,
    createdAt: trade.createdAt.toISOString(),
    paidAt: trade.paidAt?.toISOString() ?? null,
    closedAt: trade.closedAt?.toISOString() ?? null,
    closeAction: trade.closeAction,
    reversalType: trade.reversalType,
    payCalls: trade.payCalls,
    answeredSuccess: trade.answeredSuccess,
  };
}

/**
 * Starts the wallet sandbox: creates its database if missing, migrates it, and listens.
 * Options not given take the defaults of {@link defaultSandboxOptions} (port 0 = any free port).
 */
export async function startSandbox(overrides: Partial<SandboxOptions> = {}): Promise<RunningSandbox> {
  const options: SandboxOptions = { ...defaultSandboxOptions(), ...overrides };
  const { keys, devKeys } = loadKeys(options);
  await ensureDatabase(options.databaseUrl);
  const pool = new Pool({ connectionString: options.databaseUrl, max: 10 });
  pool.on('error', (err) => options.log(`database pool error: ${err.message}`));
  const applied = await migrate(pool);
  if (applied.length > 0) options.log(`applied migrations ${applied.join(', ')}`);

  const notify: NotificationContext = {
    keys,
    partnerId: options.partnerId,
    ...(options.notifyUrlOverride !== undefined ? { notifyUrlOverride: options.notifyUrlOverride } : {}),
  };
  const ctx: ServiceContext = { pool, options, notify };
  const faults = new FaultInjector();
  const sleeps = new AbortableSleeps();
  const inFlight = new Set<Promise<void>>();
  let closing = false;

  const handlers: Record<SandboxService, (c: ServiceContext, p: Record<string, string>) => Promise<ServiceAnswer>> = {
    [SANDBOX_SERVICES.pay]: spotPay,
    [SANDBOX_SERVICES.query]: overseasQuery,
    [SANDBOX_SERVICES.cancel]: acquireCancel,
    [SANDBOX_SERVICES.refund]: spotRefund,
    [SANDBOX_SERVICES.secmerchant]: secmerchantMaintain,
  };

  async function gateway(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const entries: Array<[string, string]> = [...url.searchParams.entries()];
    if (req.method === 'POST') {
      const contentType = req.headers['content-type'] ?? '';
      const body = await readBody(req);
      if (body === undefined) return sendXml(res, errorEnvelope('ILLEGAL_ARGUMENT'));
      if (body !== '' && !contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        return sendXml(res, errorEnvelope('ILLEGAL_ARGUMENT'));
      }
      entries.push(...new URLSearchParams(body).entries());
    }
    const params: Record<string, string> = {};
    for (const [key, value] of entries) {
      // The same parameter twice (URL and body) is fine only with the same value.
      if (key in params && params[key] !== value) return sendXml(res, errorEnvelope('ILLEGAL_ARGUMENT'));
      params[key] = value;
    }
    await sleeps.sleep(options.latencyMs);

    const service = params['service'] ?? '';
    const fault = faults.take(service, params);
    if (fault !== undefined) {
      if (fault.fault === 'delay') await sleeps.sleep(fault.delayMs);
      if (fault.fault === 'http_500') return send(res, 500, 'text/plain', 'Internal Server Error');
      if (fault.fault === 'garbage') return send(res, 200, 'text/xml; charset=UTF-8', '<alipay><is_success>T</is_succ');
      if (fault.fault === 'system_error') return sendXml(res, errorEnvelope('SYSTEM_ERROR'));
    }

    if (params['partner'] !== options.partnerId) return sendXml(res, errorEnvelope('ILLEGAL_PARTNER'));
    if (!isSandboxService(service)) return sendXml(res, errorEnvelope('ILLEGAL_SERVICE'));
    if ((params['_input_charset'] ?? '').toUpperCase() !== 'UTF-8')
      return sendXml(res, errorEnvelope('ILLEGAL_CHARSET'));
    const signType = params['sign_type'];
    if (signType !== keys.signType) return sendXml(res, errorEnvelope('ILLEGAL_SIGN_TYPE'));
    const sign = params['sign'];
    if (
      sign === undefined ||
      sign === '' ||
      !merchantSignatureValid(preSignString(params), keys.signType, sign, keys)
    ) {
      return sendXml(res, errorEnvelope('ILLEGAL_SIGN'));
    }

    if (fault?.fault === 'unknown_result') {
      const fields: Record<string, string> =
        service === SANDBOX_SERVICES.cancel
          ? {
              result_code: 'FAIL',
              retry_flag: 'Y',
              detail_error_code: 'SYSTEM_ERROR',
              detail_error_des: 'injected',
              out_trade_no: params['out_trade_no'] ?? '',
            }
          : { result_code: 'UNKNOW', error: 'SYSTEM_ERROR' };
      return sendXml(res, successEnvelope(entries, fields, keys));
    }

    const answer = await handlers[service](ctx, params);
    if (answer.kind === 'gateway_error') return sendXml(res, errorEnvelope(answer.error));
    if (answer.holdMs !== undefined) {
      options.log(`holding the answer to ${service} ${params['partner_trans_id'] ?? ''} for ${answer.holdMs} ms`);
      await sleeps.sleep(answer.holdMs);
      if (closing) {
        res.destroy();
        return;
      }
    }
    sendXml(res, successEnvelope(entries, answer.fields, keys, fault?.fault === 'bad_response_sign'));
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.local');
    const path = url.pathname;
    if (path === '/gateway.do' && (req.method === 'POST' || req.method === 'GET')) return await gateway(req, res, url);
    if (path === '/health' && req.method === 'GET') {
      await pool.query('SELECT 1');
      return sendJson(res, 200, {
        status: 'ok',
        partnerId: options.partnerId,
        signType: keys.signType,
        time: beijingDateTime(options.now()) + ' GMT+8',
      });
    }
    const file = /^\/files\/(transaction|settlement)\/([0-9]{4}-[0-9]{2}-[0-9]{2})$/.exec(path);
    if (file !== null && req.method === 'GET') {
      await promoteDueTrades(ctx);
      const day = file[2] ?? '';
      const text =
        file[1] === 'transaction'
          ? await transactionFile(pool, options.partnerId, day)
          : await settlementFile(pool, options.partnerId, day);
      if (text === undefined)
        return sendJson(res, 400, { error: { code: 'INVALID_DATE', message: `not a date: ${day}` } });
      return send(res, 200, 'text/plain; charset=utf-8', text);
    }
    if (path === '/trades' && req.method === 'GET') {
      await promoteDueTrades(ctx);
      const date = url.searchParams.get('date');
      const range = date !== null ? beijingDayRange(date) : undefined;
      if (date !== null && range === undefined)
        return sendJson(res, 400, { error: { code: 'INVALID_DATE', message: `not a date: ${date}` } });
      const status = url.searchParams.get('status');
      const partnerTransId = url.searchParams.get('partnerTransId');
      const trades = await listTrades(pool, {
        partnerId: options.partnerId,
        ...(partnerTransId !== null ? { partnerTransId } : {}),
        ...(range !== undefined ? { dayStart: range.start, dayEnd: range.end } : {}),
        ...(status !== null ? { status } : {}),
      });
      const data = await Promise.all(
        trades.map(async (t) => tradeJson(t, await listRefundsOfTrade(pool, options.partnerId, t.partnerTransId))),
      );
      return sendJson(res, 200, { data });
    }
    if (path === '/notifications' && req.method === 'GET') {
      const partnerTransId = url.searchParams.get('partnerTransId') ?? undefined;
      const data = await listNotifications(pool, options.partnerId, partnerTransId);
      return sendJson(res, 200, { data });
    }
    if (path === '/control/faults') {
      if (req.method === 'GET') return sendJson(res, 200, { data: faults.list() });
      if (req.method === 'DELETE') {
        faults.clear();
        return sendJson(res, 200, { data: [] });
      }
      if (req.method === 'POST') {
        const body = await readBody(req);
        let json: unknown;
        try {
          json = JSON.parse(body ?? '');
        } catch {
          return sendJson(res, 400, { error: { code: 'VALIDATION_FAILED', message: 'body must be JSON' } });
        }
        const parsed = faultSchema.safeParse(json);
        if (!parsed.success)
          return sendJson(res, 400, { error: { code: 'VALIDATION_FAILED', message: parsed.error.message } });
        faults.arm(parsed.data);
        return sendJson(res, 201, { data: faults.list() });
      }
    }
    return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `${req.method ?? ''} ${path}` } });
  }

  const server = http.createServer((req, res) => {
    const work = route(req, res).catch((err: unknown) => {
      options.log(
        `error on ${req.method ?? ''} ${req.url ?? ''}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
      if ((req.url ?? '').startsWith('/gateway.do')) sendXml(res, errorEnvelope('SYSTEM_ERROR'));
      else sendJson(res, 500, { error: { code: 'INTERNAL', message: 'sandbox error' } });
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  });

  // Longer than typical client pools keep idle sockets, so a reused connection is rarely closed under a request.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  let ticking: Promise<void> | undefined;
  async function tick(): Promise<void> {
    if (ticking !== undefined) return await ticking;
    ticking = (async () => {
      try {
        await promoteDueTrades(ctx);
        await deliverDueNotifications(pool, options.partnerId, {
          scheduleScale: options.notifyScheduleScale,
          timeoutMs: options.notifyTimeoutMs,
          now: options.now,
          log: options.log,
        });
      } catch (err) {
        if (!closing) options.log(`background tick failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    })();
    try {
      await ticking;
    } finally {
      ticking = undefined;
    }
  }
  const ticker = setInterval(() => void tick(), options.tickMs);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${address.port}`;

  let closed: Promise<void> | undefined;
  const running: RunningSandbox = {
    url,
    gatewayUrl: `${url}/gateway.do`,
    port: address.port,
    options,
    faults,
    tick,
    close: async () => {
      closed ??= (async () => {
        closing = true;
        clearInterval(ticker);
        sleeps.abortAll();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.allSettled([...inFlight]);
        server.closeAllConnections();
        await stopped;
        if (ticking !== undefined) await ticking.catch(() => undefined);
        await pool.end();
      })();
      await closed;
    },
  };
  if (devKeys !== undefined) running.devKeys = devKeys;
  return running;
}
