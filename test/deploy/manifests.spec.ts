/**
 * Offline checks of the deployment artefacts (docker-compose.yml, k8s/, the Dockerfiles).
 *
 * - docker-compose.yml is validated against the Compose Specification JSON schema vendored in
 *   test/deploy/schemas/compose-spec.json (source and licence in the README next to it).
 * - Every Kubernetes document — each file under k8s/ and everything kustomize renders for
 *   k8s/base and each overlay — is validated against the schema of its apiVersion/kind from the
 *   `kubernetes-models` package (generated from the official Kubernetes OpenAPI document).
 * - The house rules (docs/deployment.md) are asserted on the rendered output.
 *
 * Rendering uses a real kustomize: `kustomize build` or `kubectl kustomize`, whichever is on PATH
 * (no npm package renders kustomizations). Without one, the base is assembled from its listed
 * resources plus its configMapGenerator literals, the overlays get file-level checks only, and
 * the tests that need a renderer are skipped with a warning.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import Ajv from 'ajv';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

// ------------------------------------------------------------------------------------------------
// What the platform looks like (the facts the manifests must agree with)

const ROOT = resolve(__dirname, '..', '..');
const K8S = join(ROOT, 'k8s');

interface AppFacts {
  readonly port: number;
  /** Path prefixes the app owns at the Ingress. */
  readonly paths: readonly string[];
}

const APPS: Readonly<Record<'payment' | 'ticketing' | 'promotions' | 'reporting', AppFacts>> = {
  payment: {
    port: 3001,
    paths: ['/v1/merchants', '/v1/api-keys', '/v1/payments', '/v1/refunds', '/v1/wallets'],
  },
  ticketing: {
    port: 3002,
    paths: ['/v1/attractions', '/v1/orders', '/v1/tickets', '/v1/scans', '/v1/gates', '/t'],
  },
  promotions: { port: 3003, paths: ['/v1/campaigns', '/v1/offers', '/v1/coupons', '/offers'] },
  reporting: { port: 3004, paths: ['/v1/reports', '/v1/reconciliations', '/dashboard'] },
};
type AppName = keyof typeof APPS;
const APP_NAMES = Object.keys(APPS) as AppName[];

const SANDBOX = { name: 'wallet-sandbox', port: 3010 } as const;
const REAL_GATEWAY = 'https://globalmapi.alipay.com/gateway.do';
const SECRET_NAME = 'admit-secrets';
const TARGETS = ['base', 'dev', 'production'] as const;
type Target = (typeof TARGETS)[number];
const TARGET_DIRS: Record<Target, string> = {
  base: join(K8S, 'base'),
  dev: join(K8S, 'overlays', 'dev'),
  production: join(K8S, 'overlays', 'production'),
};
const PRODUCTION_NAMESPACE = 'admit';

const envName = (app: string, suffix: string): string => `${app.toUpperCase().replace(/-/g, '_')}_${suffix}`;

// ------------------------------------------------------------------------------------------------
// Shapes of the parts of documents the rules look at (parsed YAML is cast to these)

type Labels = Record<string, string>;
interface Meta {
  name?: string;
  namespace?: string;
  labels?: Labels;
  annotations?: Labels;
}
interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
  spec?: unknown;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Probe {
  httpGet?: { path?: string; port?: number | string };
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}
type ResourceList = Record<string, string | number>;
interface Container {
  name: string;
  image?: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: ResourceList; limits?: ResourceList };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
  };
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  enableServiceLinks?: boolean;
  restartPolicy?: string;
}
interface PodTemplate {
  metadata?: Meta;
  spec: PodSpec;
}
interface ServiceSpec {
  selector?: Labels;
  ports?: { name?: string; port: number; targetPort?: number | string }[];
}
interface PdbSpec {
  selector?: { matchLabels?: Labels };
}
interface HpaSpec {
  scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string };
  minReplicas?: number;
  maxReplicas?: number;
}
interface IngressPath {
  path?: string;
  pathType?: string;
  backend?: { service?: { name?: string; port?: { name?: string; number?: number } } };
}
interface IngressSpec {
  tls?: unknown[];
  rules?: { host?: string; http?: { paths?: IngressPath[] } }[];
}
interface Kustomization {
  resources?: string[];
  components?: string[];
  patches?: { path?: string; patch?: string }[];
  patchesStrategicMerge?: string[];
  patchesJson6902?: unknown[];
  configMapGenerator?: { name: string; behavior?: string; literals?: string[]; files?: string[]; envs?: string[] }[];
  secretGenerator?: unknown[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  namespace?: string;
}

// ------------------------------------------------------------------------------------------------
// Kubernetes schema validation (kubernetes-models: validators generated from the official OpenAPI)

interface Model {
  validate(): void;
}
type ModelClass = new (data: never) => Model;
const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'batch/v1': batchV1,
  'policy/v1': policyV1,
  'autoscaling/v2': autoscalingV2,
  'networking.k8s.io/v1': networkingV1,
};

function schemaErrors(doc: K8sObject): string[] {
  const where = `${doc.apiVersion ?? '?'} ${doc.kind ?? '?'} ${doc.metadata?.name ?? '?'}`;
  if (!doc.apiVersion || !doc.kind) return [`${where}: apiVersion and kind are required`];
  const group = MODELS[doc.apiVersion];
  if (!group) return [`${where}: no published schema wired in for apiVersion ${doc.apiVersion}`];
  const Cls = group[doc.kind] as ModelClass | undefined;
  if (typeof Cls !== 'function') return [`${where}: ${doc.kind} is not a kind of ${doc.apiVersion}`];
  try {
    new Cls(doc as never).validate();
    return [];
  } catch (err) {
    return [`${where}: ${err instanceof Error ? err.message : String(err)}`];
  }
}

// ------------------------------------------------------------------------------------------------
// YAML and kustomize helpers

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function yamlDocs(text: string, file: string): unknown[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS() as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

const readYamlFile = (file: string): unknown[] => yamlDocs(readFileSync(file, 'utf8'), relative(ROOT, file));

function findRenderer(): string[] | undefined {
  const candidates = [
    ['kustomize', 'build'],
    ['kubectl', 'kustomize'],
  ];
  for (const cmd of candidates) {
    try {
      execFileSync(cmd[0] as string, [...cmd.slice(1), '--help'], { stdio: 'ignore', timeout: 30_000 });
      return cmd;
    } catch {
      // not installed: try the next one
    }
  }
  return undefined;
}
const RENDERER = findRenderer();
if (!RENDERER) {
  console.warn('test/deploy: neither `kustomize` nor `kubectl` is on PATH — overlays are checked file by file only');
}

const rendered = new Map<Target, K8sObject[]>();
function render(target: Target): K8sObject[] {
  const cached = rendered.get(target);
  if (cached) return cached;
  let docs: K8sObject[];
  if (RENDERER) {
    const out = execFileSync(RENDERER[0] as string, [...RENDERER.slice(1), TARGET_DIRS[target]], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    docs = yamlDocs(out, `kustomize ${target}`) as K8sObject[];
  } else if (target === 'base') {
    docs = assembleBaseWithoutRenderer();
  } else {
    throw new Error(`rendering ${target} needs kustomize or kubectl`);
  }
  rendered.set(target, docs);
  return docs;
}

/** Without a renderer: the base's listed resources plus ConfigMaps from its generator literals. */
function assembleBaseWithoutRenderer(): K8sObject[] {
  const dir = TARGET_DIRS.base;
  const k = readYamlFile(join(dir, 'kustomization.yaml'))[0] as Kustomization;
  const docs = (k.resources ?? []).flatMap((r) => readYamlFile(join(dir, r)) as K8sObject[]);
  for (const gen of k.configMapGenerator ?? []) {
    const data = Object.fromEntries(
      (gen.literals ?? []).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data });
  }
  return docs;
}

// ------------------------------------------------------------------------------------------------
// Accessors over rendered documents

const byKind = (docs: K8sObject[], kind: string): K8sObject[] => docs.filter((d) => d.kind === kind);
const find = (docs: K8sObject[], kind: string, name: string): K8sObject | undefined =>
  docs.find((d) => d.kind === kind && d.metadata?.name === name);
const podTemplate = (doc: K8sObject): PodTemplate | undefined =>
  (doc.spec as { template?: PodTemplate } | undefined)?.template;
const allContainers = (pod: PodSpec): Container[] => [...(pod.initContainers ?? []), ...pod.containers];
const workloads = (docs: K8sObject[]): K8sObject[] =>
  docs.filter((d) => d.kind === 'Deployment' || d.kind === 'Job' || d.kind === 'StatefulSet');
const matches = (selector: Labels | undefined, labels: Labels | undefined): boolean =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

/**
 * A generated ConfigMap keeps its base name plus a hash suffix (`admit-config-9k74hm62m6`);
 * references are rewritten to the full name, so look names up exactly.
 */
function configMapData(docs: K8sObject[], name: string): Record<string, string> | undefined {
  return find(docs, 'ConfigMap', name)?.data;
}

/** The environment a container starts with: its envFrom ConfigMaps, then its env (secret refs as markers). */
function effectiveEnv(docs: K8sObject[], c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, configMapData(docs, from.configMapRef.name) ?? {});
  }
  for (const e of c.env ?? []) {
    const secret = e.valueFrom?.secretKeyRef;
    const cm = e.valueFrom?.configMapKeyRef;
    if (secret) env[e.name] = `<secret ${secret.name}/${secret.key}>`;
    else if (cm) env[e.name] = configMapData(docs, cm.name)?.[cm.key] ?? `<missing ${cm.name}/${cm.key}>`;
    else env[e.name] = e.value ?? '';
  }
  return env;
}

function bytes(quantity: string | number | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(String(quantity));
  if (!m) return undefined;
  const unit = m[2] ?? '';
  const factor: Record<string, number> = {
    '': 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(m[1]) * (factor[unit] ?? NaN);
}

/** `name:tag` with a pinned semver-like tag (or a digest); never `latest`, never untagged. */
function imageProblem(image: string | undefined): string | undefined {
  if (!image) return 'no image';
  if (image.includes('@sha256:')) return undefined;
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon <= slash) return `${image}: no tag`;
  const tag = image.slice(colon + 1);
  if (tag === 'latest') return `${image}: :latest`;
  if (!/^v?\d+\.\d+(\.\d+)?([.-][0-9A-Za-z.-]+)?$/.test(tag)) return `${image}: tag is not a pinned version`;
  return undefined;
}

const secretExample = (): K8sObject => readYamlFile(join(K8S, 'base', 'secret.example.yaml'))[0] as K8sObject;

// ------------------------------------------------------------------------------------------------
// docker-compose.yml

describe('docker-compose.yml', () => {
  interface ComposeService {
    image?: string;
    build?: unknown;
    command?: string[] | string;
    environment?: Record<string, string | number | boolean | null>;
    depends_on?: Record<string, { condition?: string }> | string[];
    healthcheck?: { test?: string[] | string; disable?: boolean };
    restart?: string;
  }
  interface ComposeFile {
    services: Record<string, ComposeService>;
  }

  const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  // Compose resolves YAML merge keys (`<<: *anchor`); so does the parser here.
  const compose = parseYaml(text, { merge: true }) as ComposeFile;
  const services = compose.services;
  /** `${VAR:-default}` → default; the form Compose uses for a value that has one. */
  const withDefaults = (s: string): string => s.replace(/\$\{[A-Z0-9_]+:?-([^}]*)\}/g, '$1');
  const env = (svc: string): Record<string, string> =>
    Object.fromEntries(
      Object.entries(services[svc]?.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]),
    );
  const dependsOn = (svc: string): Record<string, { condition?: string }> => {
    const d = services[svc]?.depends_on;
    if (!d) return {};
    return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, { condition: 'service_started' }])) : d;
  };

  it('is valid against the Compose Specification schema', () => {
    const { $schema: _ignored, ...schema } = JSON.parse(
      readFileSync(join(__dirname, 'schemas', 'compose-spec.json'), 'utf8'),
    ) as Record<string, unknown>;
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const ok = validate(compose);
    expect(ok ? [] : ajv.errorsText(validate.errors, { separator: '\n' }).split('\n')).toEqual([]);
  });

  it('pins every image to a version (no :latest, no untagged image)', () => {
    const problems = Object.entries(services).flatMap(([name, s]) => {
      const p = imageProblem(s.image === undefined ? undefined : withDefaults(s.image));
      return p ? [`${name}: ${p}`] : [];
    });
    expect(problems).toEqual([]);
    expect(services.kafka?.image).toBe('apache/kafka:4.1.2');
    expect(services.postgres?.image).toMatch(/^postgres:15[.-]/);
    expect(services.redis?.image).toMatch(/^redis:7[.-]/);
  });

  it('runs Kafka in KRaft mode (combined broker+controller), without ZooKeeper', () => {
    const k = env('kafka');
    expect(k.KAFKA_PROCESS_ROLES?.split(',').sort()).toEqual(['broker', 'controller']);
    expect(k.KAFKA_CONTROLLER_QUORUM_VOTERS).toMatch(/^1@kafka:\d+$/);
    expect(k.KAFKA_ADVERTISED_LISTENERS).toContain('://kafka:9092');
    expect(Object.keys(k).filter((key) => key.includes('ZOOKEEPER'))).toEqual([]);
  });

  it('gives the infrastructure and every app a healthcheck and every app a restart policy', () => {
    const long = ['kafka', 'postgres', 'redis', SANDBOX.name, ...APP_NAMES];
    const problems = long.flatMap((name) => {
      const s = services[name];
      if (!s) return [`${name}: missing`];
      const out: string[] = [];
      if (!s.healthcheck?.test || s.healthcheck.disable) out.push(`${name}: no healthcheck`);
      if (!['always', 'unless-stopped', 'on-failure'].includes(s.restart ?? '')) out.push(`${name}: no restart policy`);
      return out;
    });
    expect(problems).toEqual([]);
  });

  it.each(APP_NAMES)('%s: a one-shot <app>-migrate service runs migrate.js and the app waits for it', (app) => {
    const migrate = services[`${app}-migrate`];
    expect(migrate).toBeDefined();
    expect(migrate?.command).toEqual(['node', `dist/services/${app}/src/migrate.js`]);
    expect(migrate?.restart).toBe('no');
    expect(migrate?.image).toBe(services[app]?.image);
    expect(dependsOn(`${app}-migrate`).postgres?.condition).toBe('service_healthy');

    const deps = dependsOn(app);
    expect(deps[`${app}-migrate`]?.condition).toBe('service_completed_successfully');
    for (const infra of ['postgres', 'redis', 'kafka']) expect(deps[infra]?.condition).toBe('service_healthy');
  });

  it.each(APP_NAMES)('%s: environment matches the runtime contract', (app) => {
    const e = env(app);
    expect(e.MIGRATE_ON_BOOT).toBe('false');
    expect(e.BIND_HOST).toBe('0.0.0.0');
    expect(e[envName(app, 'PORT')]).toBe(String(APPS[app].port));
    expect(e[envName(app, 'DATABASE_URL')]).toMatch(new RegExp(`^postgres://.+@postgres:5432/admit_${app}$`));
    expect(e.REDIS_URL).toMatch(/^redis:\/\/redis:6379/);
    expect(e.KAFKA_BROKERS).toBe('kafka:9092');
    expect(e.ADMIT_ACQUIRER_KEY).toBeDefined();
    expect(env(`${app}-migrate`)).toEqual(e);
  });

  it('wires payment to the wallet sandbox, and the sandbox back to payment', () => {
    const p = env('payment');
    expect(p.WALLET_GATEWAY_URL).toBe(`http://${SANDBOX.name}:${SANDBOX.port}/gateway.do`);
    expect(['MD5', 'RSA2']).toContain(p.WALLET_SIGN_TYPE);
    expect(dependsOn('payment')[SANDBOX.name]?.condition).toBe('service_healthy');
    const s = env(SANDBOX.name);
    expect(s.SANDBOX_HOST).toBe('0.0.0.0');
    expect(s.SANDBOX_PORT).toBe(String(SANDBOX.port));
    expect(s.SANDBOX_NOTIFY_URL).toBe('http://payment:3001/v1/wallets/alipay/notify');
    expect(s.SANDBOX_MD5_KEY).toBe(p.WALLET_MD5_KEY);
    expect(withDefaults(s.SANDBOX_PARTNER_ID ?? '')).toBe(withDefaults(p.WALLET_PARTNER_ID ?? ''));
  });

  it('takes every secret from the environment with no default (`${VAR:?message}`)', () => {
    const secretKeys = [
      'ADMIT_ACQUIRER_KEY',
      'WALLET_MD5_KEY',
      'TICKET_SIGNING_KEY',
      'SANDBOX_MD5_KEY',
      'POSTGRES_PASSWORD',
    ];
    const required = /^\$\{[A-Z0-9_]+:\?[^}]+\}$/;
    const problems = Object.keys(services).flatMap((svc) =>
      Object.entries(env(svc)).flatMap(([key, value]) => {
        if (secretKeys.includes(key) && !required.test(value)) return [`${svc}.${key} is not \${VAR:?…}`];
        if (key.endsWith('DATABASE_URL') && !value.includes('${POSTGRES_PASSWORD:?')) {
          return [`${svc}.${key} embeds a password that is not \${POSTGRES_PASSWORD:?…}`];
        }
        return [];
      }),
    );
    expect(problems).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------
// Dockerfiles

describe('Dockerfiles', () => {
  interface Instruction {
    op: string;
    args: string;
  }
  const parseDockerfile = (text: string): Instruction[] =>
    text
      .replace(/\\\r?\n/g, ' ')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const space = l.indexOf(' ');
        return { op: l.slice(0, space).toUpperCase(), args: l.slice(space + 1).trim() };
      });

  const images = [
    ...APP_NAMES.map((app) => ({
      file: `services/${app}/Dockerfile`,
      dist: `dist/services/${app}`,
      port: APPS[app].port,
      portEnv: envName(app, 'PORT'),
      hostEnv: 'BIND_HOST',
      health: '/health/live',
    })),
    {
      file: 'tools/wallet-sandbox/Dockerfile',
      dist: 'dist/tools/wallet-sandbox',
      port: SANDBOX.port,
      portEnv: 'SANDBOX_PORT',
      hostEnv: 'SANDBOX_HOST',
      health: '/health',
    },
  ];

  it.each(images)('$file: multi-stage, production deps only, non-root, healthcheck, exec CMD', (img) => {
    const ins = parseDockerfile(readFileSync(join(ROOT, img.file), 'utf8'));
    const args = Object.fromEntries(
      ins.filter((i) => i.op === 'ARG' && i.args.includes('=')).map((i) => i.args.split('=') as [string, string]),
    );
    const froms = ins.map((i, idx) => ({ ...i, idx })).filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(3);
    // Every base image is pinned: a previous stage, or an image with a version tag.
    const stages: string[] = [];
    for (const f of froms) {
      const [ref = '', , alias] = f.args.split(/\s+/);
      const resolved = ref.replace(/^\$\{?(\w+)\}?$/, (_m, name: string) => args[name] ?? ref);
      if (!stages.includes(resolved)) {
        expect(imageProblem(resolved)).toBeUndefined();
        expect(resolved).toMatch(/^node:20\.\d+\.\d+-(bookworm-slim|alpine[\d.]*)$/);
      }
      if (alias) stages.push(alias);
    }
    const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true);
    expect(ins.some((i) => i.op === 'COPY' && i.args.includes('package-lock.json'))).toBe(true);

    const lastFrom = froms[froms.length - 1]?.idx ?? 0;
    const runtime = ins.slice(lastFrom + 1);
    const runtimeRuns = runtime.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runtimeRuns.filter((r) => /\bnpm (ci|install|i)\b/.test(r) && !r.includes('--omit=dev'))).toEqual([]);
    const envText = runtime
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(envText).toMatch(/\bNODE_ENV=production\b/);
    expect(envText).toContain(`${img.hostEnv}=0.0.0.0`);
    expect(envText).toContain(`${img.portEnv}=${img.port}`);
    // Only this app's dist subtree and dist/libs reach the runtime image.
    const distCopies = runtime
      .filter((i) => i.op === 'COPY' && i.args.includes('dist'))
      .map((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--'))[0]);
    expect(distCopies.sort()).toEqual([`/app/${img.dist}`, '/app/dist/libs'].sort());
    expect(
      runtime.some((i) => i.op === 'COPY' && i.args.startsWith('--from=') && i.args.includes('node_modules')),
    ).toBe(true);
    expect(runtime.filter((i) => i.op === 'USER').map((i) => i.args)).toEqual(['node']);
    expect(runtime.filter((i) => i.op === 'EXPOSE').map((i) => i.args)).toEqual([String(img.port)]);

    const health = runtime.find((i) => i.op === 'HEALTHCHECK');
    expect(health?.args).toMatch(/\bCMD \["node", "-e", /);
    expect(health?.args).toContain(`path:'${img.health}'`);
    const cmd = runtime.filter((i) => i.op === 'CMD');
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0]?.args ?? 'null')).toEqual(['node', `${img.dist}/src/main.js`]);
  });

  it('.dockerignore keeps dependencies, build output, VCS data and env files out of the context', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const entry of ['**/node_modules', 'dist', '.git', '.env']) expect(lines).toContain(entry);
    for (const needed of ['package.json', 'package-lock.json', 'libs', 'services', 'tools']) {
      expect(lines.filter((l) => l === needed || l === `${needed}/` || l === `/${needed}`)).toEqual([]);
    }
  });
});

// ------------------------------------------------------------------------------------------------
// k8s/: every file

describe('k8s/ files', () => {
  const files = walk(K8S).filter((f) => /\.ya?ml$/.test(f));
  const kustomizationFiles = files.filter((f) => /(^|\/)kustomization\.ya?ml$/.test(f));
  const kustomizations = kustomizationFiles.map((file) => ({
    file,
    dir: dirname(file),
    k: readYamlFile(file)[0] as Kustomization,
  }));
  const patchFiles = new Set(
    kustomizations.flatMap(({ dir, k }) => (k.patches ?? []).flatMap((p) => (p.path ? [resolve(dir, p.path)] : []))),
  );

  it('has a kustomization for base and each overlay', () => {
    for (const t of TARGETS) expect(existsSync(join(TARGET_DIRS[t], 'kustomization.yaml'))).toBe(true);
  });

  it('every kustomization refers only to files that exist, and generates no Secret', () => {
    const problems = kustomizations.flatMap(({ file, dir, k }) => {
      const where = relative(ROOT, file);
      const out: string[] = [];
      for (const r of [...(k.resources ?? []), ...(k.components ?? [])]) {
        const p = resolve(dir, r);
        const ok = existsSync(p) && (statSync(p).isFile() || existsSync(join(p, 'kustomization.yaml')));
        if (!ok) out.push(`${where}: resource ${r} does not exist`);
      }
      for (const p of k.patches ?? []) {
        if (p.path && !existsSync(resolve(dir, p.path))) out.push(`${where}: patch ${p.path} does not exist`);
      }
      for (const g of k.configMapGenerator ?? []) {
        for (const f of [...(g.files ?? []), ...(g.envs ?? [])]) {
          const path = f.includes('=') ? f.slice(f.indexOf('=') + 1) : f;
          if (!existsSync(resolve(dir, path))) out.push(`${where}: generator file ${f} does not exist`);
        }
      }
      if (k.patchesStrategicMerge || k.patchesJson6902)
        out.push(`${where}: use \`patches\` (the old fields are deprecated)`);
      if (k.secretGenerator) out.push(`${where}: secretGenerator puts secret values in the repository`);
      return out;
    });
    expect(problems).toEqual([]);
  });

  it('every YAML document parses, and every resource document is valid against its Kubernetes schema', () => {
    const problems: string[] = [];
    for (const file of files) {
      if (kustomizationFiles.includes(file)) continue;
      const docs = readYamlFile(file);
      if (docs.length === 0) problems.push(`${relative(ROOT, file)}: empty`);
      if (patchFiles.has(file)) {
        for (const d of docs) {
          const ops = Array.isArray(d) ? (d as { op?: string; path?: string }[]) : undefined;
          const jsonPatchOk =
            !!ops &&
            ops.every(
              (o) =>
                ['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(o.op ?? '') && o.path?.startsWith('/'),
            );
          const smp = d as K8sObject;
          const smpOk = !ops && !!smp.apiVersion && !!smp.kind && !!smp.metadata?.name;
          if (!jsonPatchOk && !smpOk)
            problems.push(`${relative(ROOT, file)}: neither a JSON 6902 nor a strategic-merge patch`);
        }
        continue;
      }
      for (const d of docs) problems.push(...schemaErrors(d as K8sObject).map((e) => `${relative(ROOT, file)}: ${e}`));
    }
    expect(problems).toEqual([]);
  });

  it('secret.example.yaml documents admit-secrets with placeholders only and is not deployed', () => {
    const example = secretExample();
    expect(example.kind).toBe('Secret');
    expect(example.metadata?.name).toBe(SECRET_NAME);
    const notPlaceholders = Object.entries(example.stringData ?? {}).filter(([, v]) => !/<[^>]+>/.test(v));
    expect(notPlaceholders).toEqual([]);
    const referencing = kustomizations.filter(({ dir, k }) =>
      [...(k.resources ?? []), ...(k.components ?? [])].some(
        (r) => resolve(dir, r) === join(K8S, 'base', 'secret.example.yaml'),
      ),
    );
    expect(referencing.map(({ file }) => relative(ROOT, file))).toEqual([]);
  });

  it('pins every image tag set by an overlay, and production does not include the sandbox', () => {
    for (const t of ['dev', 'production'] as const) {
      const k = readYamlFile(join(TARGET_DIRS[t], 'kustomization.yaml'))[0] as Kustomization;
      for (const img of k.images ?? []) {
        expect(imageProblem(`${img.newName ?? img.name}:${img.newTag ?? ''}`)).toBeUndefined();
      }
    }
    const prodDir = TARGET_DIRS.production;
    const prod = readYamlFile(join(prodDir, 'kustomization.yaml'))[0] as Kustomization;
    expect(prod.namespace).toBe(PRODUCTION_NAMESPACE);
    expect((prod.resources ?? []).filter((r) => r.includes('sandbox'))).toEqual([]);
    expect((prod.images ?? []).map((i) => i.name).sort()).toEqual(APP_NAMES.map((a) => `admit/${a}`).sort());
    const gateway = (prod.configMapGenerator ?? [])
      .filter((g) => g.name === 'payment-config')
      .flatMap((g) => g.literals ?? [])
      .filter((l) => l.startsWith('WALLET_GATEWAY_URL='));
    expect(gateway).toEqual([`WALLET_GATEWAY_URL=${REAL_GATEWAY}`]);
  });
});

// ------------------------------------------------------------------------------------------------
// Rendered output: schema + house rules, for base and each overlay

const renderable = (t: Target): boolean => !!RENDERER || t === 'base';

describe.each(TARGETS)('rendered %s', (target) => {
  const maybe = renderable(target) ? it : it.skip;
  const docs = (): K8sObject[] => render(target);

  maybe('renders, and every document is valid against its Kubernetes schema', () => {
    expect(docs().length).toBeGreaterThan(0);
    expect(docs().flatMap(schemaErrors)).toEqual([]);
  });

  maybe('labels ConfigMaps and migration Jobs for the two-step release (docs/deployment.md)', () => {
    const component = (d: K8sObject): string | undefined => d.metadata?.labels?.['app.kubernetes.io/component'];
    const unlabeled = [
      ...byKind(docs(), 'ConfigMap').filter((d) => component(d) !== 'config'),
      ...byKind(docs(), 'Job').filter((d) => component(d) !== 'migration'),
    ].map((d) => `${d.kind}/${d.metadata?.name}`);
    expect(unlabeled).toEqual([]);
  });

  maybe('contains no Secret (values live outside the repository)', () => {
    expect(byKind(docs(), 'Secret').map((s) => s.metadata?.name)).toEqual([]);
  });

  maybe('pins every container image (no :latest, no untagged image)', () => {
    const problems = workloads(docs()).flatMap((w) =>
      allContainers(podTemplate(w)?.spec ?? { containers: [] }).flatMap((c) => {
        const p = imageProblem(c.image);
        return p ? [`${w.kind}/${w.metadata?.name}/${c.name}: ${p}`] : [];
      }),
    );
    expect(problems).toEqual([]);
  });

  maybe('every workload: probes (Deployments), requests+limits, non-root, no escalation, read-only root', () => {
    const problems = workloads(docs()).flatMap((w) => {
      const pod = podTemplate(w)?.spec;
      const name = `${w.kind}/${w.metadata?.name ?? '?'}`;
      if (!pod) return [`${name}: no pod template`];
      const out: string[] = [];
      if (pod.enableServiceLinks !== false)
        out.push(`${name}: enableServiceLinks must be false (service env vars shadow *_PORT)`);
      for (const c of allContainers(pod)) {
        const where = `${name}/${c.name}`;
        if (w.kind === 'Deployment') {
          if (!c.livenessProbe) out.push(`${where}: no livenessProbe`);
          if (!c.readinessProbe) out.push(`${where}: no readinessProbe`);
          if (!c.startupProbe) out.push(`${where}: no startupProbe`);
        }
        for (const r of ['cpu', 'memory']) {
          if (c.resources?.requests?.[r] === undefined) out.push(`${where}: no ${r} request`);
          if (c.resources?.limits?.[r] === undefined) out.push(`${where}: no ${r} limit`);
        }
        const nonRoot = c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot;
        if (nonRoot !== true) out.push(`${where}: runAsNonRoot is not true`);
        if (c.securityContext?.allowPrivilegeEscalation !== false)
          out.push(`${where}: allowPrivilegeEscalation is not false`);
        if (c.securityContext?.readOnlyRootFilesystem !== true)
          out.push(`${where}: readOnlyRootFilesystem is not true`);
        if (c.securityContext?.privileged) out.push(`${where}: privileged`);
        // The V8 heap must fit in the memory limit.
        const heap = /--max-old-space-size=(\d+)/.exec(effectiveEnv(docs(), c).NODE_OPTIONS ?? '');
        const limit = bytes(c.resources?.limits?.memory);
        if (heap && limit !== undefined && Number(heap[1]) * 2 ** 20 >= limit * 0.85) {
          out.push(`${where}: heap ${heap[1]}MB does not fit the ${String(c.resources?.limits?.memory)} limit`);
        }
      }
      return out;
    });
    expect(problems).toEqual([]);
  });

  maybe('every ConfigMap and Secret reference resolves (Secrets: admit-secrets, keys documented)', () => {
    const documented = Object.keys(secretExample().stringData ?? {});
    const problems = workloads(docs()).flatMap((w) =>
      allContainers(podTemplate(w)?.spec ?? { containers: [] }).flatMap((c) => {
        const where = `${w.kind}/${w.metadata?.name}/${c.name}`;
        const out: string[] = [];
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef && !find(docs(), 'ConfigMap', from.configMapRef.name))
            out.push(`${where}: ConfigMap ${from.configMapRef.name} missing`);
          if (from.secretRef) out.push(`${where}: envFrom a whole Secret (reference keys one by one)`);
        }
        for (const e of c.env ?? []) {
          const s = e.valueFrom?.secretKeyRef;
          if (s && s.name !== SECRET_NAME)
            out.push(`${where}: ${e.name} from Secret ${s.name}, expected ${SECRET_NAME}`);
          if (s && !documented.includes(s.key)) out.push(`${where}: Secret key ${s.key} not in secret.example.yaml`);
          if (e.value !== undefined && /(KEY|PASSWORD|SECRET|DATABASE_URL|REDIS_URL|SIGNING)/.test(e.name)) {
            out.push(`${where}: ${e.name} has a literal value; secrets come from ${SECRET_NAME}`);
          }
        }
        return out;
      }),
    );
    expect(problems).toEqual([]);
  });

  describe.each(APP_NAMES)('%s', (app) => {
    const facts = APPS[app];
    const deployment = (): K8sObject => {
      const d = find(docs(), 'Deployment', app);
      if (!d) throw new Error(`Deployment ${app} missing`);
      return d;
    };
    const container = (): Container => {
      const c = podTemplate(deployment())?.spec.containers.find((x) => x.name === app);
      if (!c) throw new Error(`Deployment ${app} has no container named ${app}`);
      return c;
    };
    const podLabels = (): Labels | undefined => podTemplate(deployment())?.metadata?.labels;

    maybe('Deployment: port, probes on /health/live and /health/ready, runtime env', () => {
      const c = container();
      expect(c.ports?.map((p) => p.containerPort)).toEqual([facts.port]);
      expect(c.livenessProbe?.httpGet?.path).toBe('/health/live');
      expect(c.startupProbe?.httpGet?.path).toBe('/health/live');
      expect(c.readinessProbe?.httpGet?.path).toBe('/health/ready');
      const env = effectiveEnv(docs(), c);
      expect(env[envName(app, 'PORT')]).toBe(String(facts.port));
      expect(env.BIND_HOST).toBe('0.0.0.0');
      expect(env.MIGRATE_ON_BOOT).toBe('false');
      expect(env.KAFKA_BROKERS).toBeTruthy();
      expect(env[envName(app, 'DATABASE_URL')]).toBe(`<secret ${SECRET_NAME}/${envName(app, 'DATABASE_URL')}>`);
      expect(env.REDIS_URL).toBe(`<secret ${SECRET_NAME}/REDIS_URL>`);
      expect(env.ADMIT_ACQUIRER_KEY).toBe(`<secret ${SECRET_NAME}/ADMIT_ACQUIRER_KEY>`);
      expect((deployment().spec as { replicas?: number }).replicas).toBeUndefined(); // the HPA owns it
    });

    maybe('Service selects the Deployment pods and targets the container port', () => {
      const svc = find(docs(), 'Service', app);
      const spec = svc?.spec as ServiceSpec | undefined;
      expect(matches(spec?.selector, podLabels())).toBe(true);
      const targets = (spec?.ports ?? []).map((p) => p.targetPort);
      const named = container().ports?.find((p) => p.containerPort === facts.port)?.name;
      expect(targets.some((t) => t === facts.port || (named !== undefined && t === named))).toBe(true);
    });

    maybe('PodDisruptionBudget covers the pods', () => {
      const pdb = find(docs(), 'PodDisruptionBudget', app);
      expect(pdb?.apiVersion).toBe('policy/v1');
      expect(matches((pdb?.spec as PdbSpec | undefined)?.selector?.matchLabels, podLabels())).toBe(true);
    });

    maybe('HorizontalPodAutoscaler (autoscaling/v2) scales the Deployment', () => {
      const hpa = find(docs(), 'HorizontalPodAutoscaler', app);
      expect(hpa?.apiVersion).toBe('autoscaling/v2');
      const spec = hpa?.spec as HpaSpec | undefined;
      expect(spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: app });
      expect(spec?.minReplicas).toBeGreaterThanOrEqual(1);
      expect(spec?.maxReplicas).toBeGreaterThanOrEqual(spec?.minReplicas ?? 1);
      if (target === 'production') expect(spec?.minReplicas).toBeGreaterThanOrEqual(3);
      if (target === 'base') expect(spec?.minReplicas).toBeGreaterThanOrEqual(2);
    });

    maybe(`migration Job ${app}-migrate runs migrate.js from the same image, outside the Service`, () => {
      const job = find(docs(), 'Job', `${app}-migrate`);
      expect(job).toBeDefined();
      const tpl = podTemplate(job as K8sObject);
      const c = tpl?.spec.containers[0];
      expect(tpl?.spec.containers).toHaveLength(1);
      expect([...(c?.command ?? [])]).toEqual(['node', `dist/services/${app}/src/migrate.js`]);
      expect(c?.image).toBe(container().image);
      expect(['Never', 'OnFailure']).toContain(tpl?.spec.restartPolicy);
      expect(effectiveEnv(docs(), c as Container)[envName(app, 'DATABASE_URL')]).toBe(
        `<secret ${SECRET_NAME}/${envName(app, 'DATABASE_URL')}>`,
      );
      // A running migration pod must not receive traffic or count for the PDB.
      const svc = find(docs(), 'Service', app)?.spec as ServiceSpec | undefined;
      expect(matches(svc?.selector, tpl?.metadata?.labels)).toBe(false);
    });
  });

  maybe('Ingress routes every owned path prefix to its owning Service, and nothing else', () => {
    const ingresses = byKind(docs(), 'Ingress');
    expect(ingresses.map((i) => i.apiVersion)).toEqual(['networking.k8s.io/v1']);
    const paths = ingresses.flatMap((i) => ((i.spec as IngressSpec).rules ?? []).flatMap((r) => r.http?.paths ?? []));
    const expected = APP_NAMES.flatMap((app) => APPS[app].paths.map((path) => `${path} -> ${app}`)).sort();
    const actual = paths.map((p) => `${p.path ?? '?'} -> ${p.backend?.service?.name ?? '?'}`).sort();
    expect(actual).toEqual(expected);
    const problems = paths.flatMap((p) => {
      const out: string[] = [];
      if (p.pathType !== 'Prefix') out.push(`${p.path}: pathType ${p.pathType}, expected Prefix`);
      const svc = find(docs(), 'Service', p.backend?.service?.name ?? '');
      const port = p.backend?.service?.port;
      const ports = (svc?.spec as ServiceSpec | undefined)?.ports ?? [];
      if (
        !ports.some(
          (sp) =>
            (port?.name !== undefined && sp.name === port.name) ||
            (port?.number !== undefined && sp.port === port.number),
        )
      ) {
        out.push(
          `${p.path}: backend port ${JSON.stringify(port)} is not a port of Service ${p.backend?.service?.name}`,
        );
      }
      return out;
    });
    expect(problems).toEqual([]);
  });

  if (target === 'base' || target === 'production') {
    maybe('never reaches the wallet sandbox; payment uses the real wallet gateway', () => {
      const names = docs().map((d) => `${d.kind}/${d.metadata?.name}`);
      expect(names.filter((n) => n.includes(SANDBOX.name))).toEqual([]);
      const images = workloads(docs()).flatMap((w) =>
        (podTemplate(w)?.spec.containers ?? []).map((c) => c.image ?? ''),
      );
      expect(images.filter((i) => i.includes(SANDBOX.name))).toEqual([]);
      const payment = podTemplate(find(docs(), 'Deployment', 'payment') as K8sObject)?.spec.containers[0] as Container;
      expect(effectiveEnv(docs(), payment).WALLET_GATEWAY_URL).toBe(REAL_GATEWAY);
    });
  }

  if (target === 'production') {
    maybe('puts everything in the production namespace, with TLS on the Ingress', () => {
      const clusterScoped = ['Namespace'];
      const outside = docs()
        .filter((d) => !clusterScoped.includes(d.kind ?? '') && d.metadata?.namespace !== PRODUCTION_NAMESPACE)
        .map((d) => `${d.kind}/${d.metadata?.name}`);
      expect(outside).toEqual([]);
      for (const ing of byKind(docs(), 'Ingress')) expect((ing.spec as IngressSpec).tls?.length).toBeGreaterThan(0);
    });

    maybe('gives the services at least the base memory limits', () => {
      const base = render('base');
      for (const app of APP_NAMES) {
        const limit = (ds: K8sObject[]): number | undefined =>
          bytes(podTemplate(find(ds, 'Deployment', app) as K8sObject)?.spec.containers[0]?.resources?.limits?.memory);
        expect(limit(docs())).toBeGreaterThanOrEqual(limit(base) ?? Infinity);
      }
    });
  }

  if (target === 'dev') {
    maybe('runs the wallet sandbox and points payment at it', () => {
      const sandbox = find(docs(), 'Deployment', SANDBOX.name);
      const c = podTemplate(sandbox as K8sObject)?.spec.containers[0];
      expect(c?.ports?.map((p) => p.containerPort)).toEqual([SANDBOX.port]);
      expect(c?.readinessProbe?.httpGet?.path).toBe('/health');
      const env = effectiveEnv(docs(), c as Container);
      expect(env.SANDBOX_HOST).toBe('0.0.0.0');
      expect(env.SANDBOX_PORT).toBe(String(SANDBOX.port));
      expect(env.SANDBOX_DATABASE_URL).toBe(`<secret ${SECRET_NAME}/SANDBOX_DATABASE_URL>`);
      const svc = find(docs(), 'Service', SANDBOX.name)?.spec as ServiceSpec | undefined;
      expect(matches(svc?.selector, podTemplate(sandbox as K8sObject)?.metadata?.labels)).toBe(true);
      const payment = podTemplate(find(docs(), 'Deployment', 'payment') as K8sObject)?.spec.containers[0] as Container;
      expect(effectiveEnv(docs(), payment).WALLET_GATEWAY_URL).toMatch(new RegExp(`^http://${SANDBOX.name}[:/]`));
    });
  }
});
