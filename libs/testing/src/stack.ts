import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';

/** The repository root, from the sources (jest) or from dist/ (compiled benchmarks): the nearest nx.json. */
export const REPO_ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = resolve(dir, '..');
    if (up === dir) return resolve(__dirname, '../../..');
    dir = up;
  }
  return dir;
})();

export type ServiceName = 'payment' | 'ticketing' | 'promotions' | 'reporting' | 'sandbox';

/** Node options every Admit service runs with (same as NODE_OPTIONS in k8s/base). */
export const SERVICE_NODE_OPTIONS = '--max-old-space-size=160';

type ServiceSpec = { name: ServiceName; entry: string; port: number; database: string; env: Record<string, string> };

export type Stack = {
  acquirerKey: string;
  urls: Record<ServiceName, string>;
  databases: Record<ServiceName, string>;
  /** kill -9 one service. */
  kill(name: ServiceName): void;
  /** Start a killed service again and wait until it is ready. */
  restart(name: ServiceName): Promise<void>;
  stop(): Promise<void>;
  query<T = Record<string, unknown>>(name: ServiceName, sql: string, params?: unknown[]): Promise<T[]>;
};

export type StackOptions = {
  /** Distinguishes databases and ports of parallel stacks: ports are base+1…base+4, base+10. */
  name: string;
  portBase: number;
  env?: Record<string, string>;
  /** Directory for service logs. */
  logDir?: string;
};

const MD5_KEY = 'admitsandboxdevkey0123456789abcd';
const PARTNER = '2088000000000001';

/** A fresh Ed25519 key for ticket codes, as the service expects it (base64 PKCS#8 DER). */
export function newTicketSigningKey(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
}

async function dropDatabase(name: string): Promise<void> {
  const c = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

async function waitReady(url: string, path: string, child: ChildProcess, timeoutMs = 60000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${url} exited with ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${url}${path}`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`${url}${path} not ready after ${timeoutMs} ms`);
}

/**
 * Starts the built services (dist/) and the wallet sandbox as real processes, each with its
 * own fresh database, against the machine's PostgreSQL/Redis and the running Kafka broker.
 */
export async function startStack(o: StackOptions): Promise<Stack> {
  const acquirerKey = `test-acquirer-${randomBytes(16).toString('hex')}`;
  const logDir = o.logDir ?? join(REPO_ROOT, 'test-artifacts', 'logs', o.name);
  mkdirSync(logDir, { recursive: true });
  const port = (n: number) => o.portBase + n;
  const db = (svc: string) => `admit_${o.name}_${svc}`.replace(/[^a-z0-9_]/g, '_');
  const common: Record<string, string> = {
    ADMIT_ACQUIRER_KEY: acquirerKey,
    KAFKA_BROKERS: process.env['KAFKA_BROKERS'] ?? '127.0.0.1:9092',
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    LOG_LEVEL: process.env['STACK_LOG_LEVEL'] ?? 'info',
    BIND_HOST: '127.0.0.1',
    // Each stack consumes with its own groups, so stacks never split partitions between them.
    KAFKA_GROUP_PREFIX: `${o.name}.`,
    // Tests check what each service emitted in `outbox_events`: keep a copy of published rows
    // (production keeps none; ADR 0008). Benchmarks that do not read them pass 0.
    OUTBOX_KEEP_PUBLISHED_MS: String(24 * 3600_000),
  };
  const pg = (name: string) => `postgres://postgres@127.0.0.1:5432/${name}`;
  const specs: ServiceSpec[] = [
    {
      name: 'sandbox',
      entry: 'dist/tools/wallet-sandbox/src/main.js',
      port: port(10),
      database: db('wallet'),
      env: {
        SANDBOX_PORT: String(port(10)),
        SANDBOX_DATABASE_URL: pg(db('wallet')),
        SANDBOX_PARTNER_ID: PARTNER,
        SANDBOX_MD5_KEY: MD5_KEY,
        SANDBOX_SIGN_TYPE: 'MD5',
      },
    },
    {
      name: 'payment',
      entry: 'dist/services/payment/src/main.js',
      port: port(1),
      database: db('payment'),
      env: {
        PAYMENT_PORT: String(port(1)),
        PAYMENT_DATABASE_URL: pg(db('payment')),
        WALLET_GATEWAY_URL: `http://127.0.0.1:${port(10)}/gateway.do`,
        WALLET_PARTNER_ID: PARTNER,
        WALLET_SIGN_TYPE: 'MD5',
        WALLET_MD5_KEY: MD5_KEY,
        WALLET_NOTIFY_URL: `http://127.0.0.1:${port(1)}/v1/wallets/alipay/notify`,
      },
    },
    {
      name: 'ticketing',
      entry: 'dist/services/ticketing/src/main.js',
      port: port(2),
      database: db('ticketing'),
      env: {
        TICKETING_PORT: String(port(2)),
        TICKETING_DATABASE_URL: pg(db('ticketing')),
        TICKET_SIGNING_KEY: newTicketSigningKey(),
        PUBLIC_BASE_URL: `http://127.0.0.1:${port(2)}`,
      },
    },
    {
      name: 'promotions',
      entry: 'dist/services/promotions/src/main.js',
      port: port(3),
      database: db('promotions'),
      env: { PROMOTIONS_PORT: String(port(3)), PROMOTIONS_DATABASE_URL: pg(db('promotions')) },
    },
    {
      name: 'reporting',
      entry: 'dist/services/reporting/src/main.js',
      port: port(4),
      database: db('reporting'),
      env: { REPORTING_PORT: String(port(4)), REPORTING_DATABASE_URL: pg(db('reporting')) },
    },
  ];
  await Promise.all(specs.map((s) => dropDatabase(s.database)));
  const children = new Map<ServiceName, ChildProcess>();
  const clients = new Map<ServiceName, Client>();
  const url = (s: ServiceSpec) => `http://127.0.0.1:${s.port}`;
  const launch = async (s: ServiceSpec) => {
    const out = createWriteStream(join(logDir, `${s.name}.log`), { flags: 'a' });
    // The V8 heap limit of the deployment (k8s/base, docker-compose.yml, scripts/start.sh), so
    // tests and benchmarks run the services with the memory behaviour they have in production.
    const env = { ...process.env, ...common, ...s.env, ...(o.env ?? {}) };
    env['NODE_OPTIONS'] = [env['NODE_OPTIONS'], SERVICE_NODE_OPTIONS].filter(Boolean).join(' ');
    const child = spawn(process.execPath, [join(REPO_ROOT, s.entry)], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    children.set(s.name, child);
    await waitReady(url(s), s.name === 'sandbox' ? '/health' : '/health/ready', child);
  };
  try {
    await launch(specs[0] as ServiceSpec);
    // Services one after the other: on 2 cores a parallel cold start only slows each one down.
    for (const s of specs.slice(1)) await launch(s);
  } catch (err) {
    for (const c of children.values()) c.kill('SIGKILL');
    throw err;
  }
  const byName = (n: ServiceName) => specs.find((s) => s.name === n) as ServiceSpec;
  return {
    acquirerKey,
    urls: Object.fromEntries(specs.map((s) => [s.name, url(s)])) as Record<ServiceName, string>,
    databases: Object.fromEntries(specs.map((s) => [s.name, s.database])) as Record<ServiceName, string>,
    kill(name) {
      children.get(name)?.kill('SIGKILL');
    },
    async restart(name) {
      const old = children.get(name);
      if (old && old.exitCode === null && old.signalCode === null) {
        old.kill('SIGKILL');
        await new Promise((r) => old.once('exit', r));
      }
      await launch(byName(name));
    },
    async query<T>(name: ServiceName, sql: string, params: unknown[] = []) {
      let c = clients.get(name);
      if (!c) {
        c = new Client({ connectionString: pg(byName(name).database) });
        await c.connect();
        clients.set(name, c);
      }
      return (await c.query(sql, params)).rows as T[];
    },
    async stop() {
      for (const c of clients.values()) await c.end().catch(() => undefined);
      await Promise.all(
        [...children.values()].map(
          (c) =>
            new Promise<void>((resolveExit) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolveExit();
              const t = setTimeout(() => c.kill('SIGKILL'), 10000);
              c.once('exit', () => {
                clearTimeout(t);
                resolveExit();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
