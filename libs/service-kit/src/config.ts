import { z } from 'zod';

/** Thrown (and printed by `loadConfig`) when the environment does not satisfy the schema. */
export class ConfigError extends Error {
  constructor(readonly problems: { key: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once against a zod schema. Throws ConfigError listing every bad key. */
export function parseConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((i) => ({ key: i.path.join('.') || '(root)', message: i.message })));
}

/** For `main`: parse, or print the bad keys and exit(78, EX_CONFIG). */
export function loadConfigOrExit<S extends z.ZodType>(
  service: string,
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  try {
    return parseConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(
        `${JSON.stringify({ level: 'fatal', service, msg: 'invalid configuration', badKeys: err.problems })}\n`,
      );
      process.exit(78);
    }
    throw err;
  }
}

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const envBool = (fallback: boolean) => bool.default(fallback);
export const envPort = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
export const envInt = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const postgresUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/.+\/[A-Za-z0-9_]+(\?.*)?$/, 'must be postgres://user@host:port/database');
const redisUrl = z.string().regex(/^rediss?:\/\/.+/, 'must be redis://host:port');
const brokers = z
  .string()
  .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port...]')
  .transform((s) => s.split(','));

/**
 * The settings every service has. `prefix` is the service's upper-case name: PAYMENT_PORT,
 * PAYMENT_DATABASE_URL, …
 */
export function commonEnv(prefix: string, port: number, database: string) {
  return {
    [`${prefix}_PORT`]: envPort(port),
    BIND_HOST: z.string().default('127.0.0.1'),
    [`${prefix}_DATABASE_URL`]: postgresUrl.default(`postgres://postgres@127.0.0.1:5432/${database}`),
    REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
    KAFKA_BROKERS: brokers.default(['127.0.0.1:9092']),
    ADMIT_ACQUIRER_KEY: z.string().min(24, 'must be at least 24 characters'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    MIGRATE_ON_BOOT: envBool(true),
    HTTP_BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/)
      .default('64kb'),
    /** Prefix of the consumer group (default none: the group is the service name). Test stacks set it. */
    KAFKA_GROUP_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,64}$/)
      .default(''),
    /** Replication factor of topics the service creates (1 on a single broker, 3 in production). */
    KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(5).default(1),
    /** Keep a copy of published outbox rows in `outbox_published` this long (0: none; ADR 0008). */
    OUTBOX_KEEP_PUBLISHED_MS: envInt(0, 0, 30 * 24 * 3600_000),
    /** Answer replays of finished idempotent requests before Nest's pipeline (replay-fast-path.ts). */
    HTTP_REPLAY_FAST_PATH: envBool(true),
  } as const;
}

export type CommonSettings = {
  service: string;
  port: number;
  host: string;
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
  acquirerKey: string;
  logLevel: string;
  migrateOnBoot: boolean;
  bodyLimit: string;
  /** Consumer group of the service: `<KAFKA_GROUP_PREFIX><service>`. */
  groupId: string;
  replicationFactor: number;
  outboxKeepPublishedMs: number;
  replayFastPath: boolean;
};

/** Maps the parsed flat env to the typed settings object the platform uses. */
export function commonSettings(service: string, prefix: string, env: Record<string, unknown>): CommonSettings {
  return {
    service,
    port: env[`${prefix}_PORT`] as number,
    host: env['BIND_HOST'] as string,
    databaseUrl: env[`${prefix}_DATABASE_URL`] as string,
    redisUrl: env['REDIS_URL'] as string,
    kafkaBrokers: env['KAFKA_BROKERS'] as string[],
    acquirerKey: env['ADMIT_ACQUIRER_KEY'] as string,
    logLevel: env['LOG_LEVEL'] as string,
    migrateOnBoot: env['MIGRATE_ON_BOOT'] as boolean,
    bodyLimit: env['HTTP_BODY_LIMIT'] as string,
    groupId: `${env['KAFKA_GROUP_PREFIX'] as string}${service}`,
    replicationFactor: env['KAFKA_REPLICATION_FACTOR'] as number,
    outboxKeepPublishedMs: env['OUTBOX_KEEP_PUBLISHED_MS'] as number,
    replayFastPath: env['HTTP_REPLAY_FAST_PATH'] as boolean,
  };
}
