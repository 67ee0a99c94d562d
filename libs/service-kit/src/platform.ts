import { randomUUID } from 'node:crypto';
import {
  Controller,
  Get,
  Global,
  Header,
  Inject,
  Module,
  Res,
  type DynamicModule,
  type INestApplication,
  type LoggerService,
  type Type,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory, Reflector } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import express, { type NextFunction, type Request, type Response } from 'express';
import { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { DataSource, MigrationInterface } from 'typeorm';
import { TOPICS } from '@admit/contracts';
import {
  createKafka,
  createLogger,
  ensureTopics,
  EventConsumer,
  messagingMetrics,
  newCorrelationId,
  OutboxRelay,
  runInFlow,
  type BatchHandlerMap,
  type HandlerMap,
  type Logger,
  type MessagingMetrics,
} from '@admit/messaging';
import { ApiKeyGuard, ApiKeyStore, Public, type AuthedRequest } from './auth';
import type { CommonSettings } from './config';
import { buildDataSource, createDatabaseIfMissing, runMigrationsLocked } from './database';
import { AdmitErrorFilter, errorBody, mapTransportError } from './errors';
import { IdempotencyInterceptor } from './idempotency';
import { idempotentRoutes, replayFastPath } from './replay-fast-path';
import { buildOpenApi, PLATFORM_OPERATIONS, type Operation } from './openapi';

/** Everything a service process shares: built once in `main`, handed to Nest as providers. */
export type Platform = {
  settings: CommonSettings;
  logger: Logger;
  registry: Registry;
  dataSource: DataSource;
  redis: Redis;
  kafka: Kafka;
  keys: ApiKeyStore;
  relay: OutboxRelay;
  metrics: MessagingMetrics;
  consumer: EventConsumer | null;
};

export const PLATFORM = Symbol('PLATFORM');
export const REDIS = Symbol('REDIS');
export const LOGGER = Symbol('LOGGER');

export type PlatformOptions = {
  settings: CommonSettings;
  entities: Function[];
  migrations: (new () => MigrationInterface)[];
  poolSize?: number;
};

/** Connects to PostgreSQL (creating the database and applying migrations), Redis and Kafka. */
export async function createPlatform(o: PlatformOptions): Promise<Platform> {
  const { settings } = o;
  const logger = createLogger(settings.service, settings.logLevel);
  const registry = new Registry();
  registry.setDefaultLabels({ service: settings.service });
  collectDefaultMetrics({ register: registry });
  if (settings.migrateOnBoot) await createDatabaseIfMissing(settings.databaseUrl);
  const dataSource = buildDataSource({
    url: settings.databaseUrl,
    entities: o.entities,
    migrations: o.migrations,
    poolSize: o.poolSize ?? 20,
  });
  await dataSource.initialize();
  if (settings.migrateOnBoot) await runMigrationsLocked(dataSource, logger);
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
  redis.on('error', (err) => logger.warn({ err }, 'redis error'));
  const kafka = createKafka({ brokers: settings.kafkaBrokers, clientId: `admit-${settings.service}` }, logger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, settings.replicationFactor);
  await admin.disconnect();
  const metrics = messagingMetrics(registry);
  const relay = new OutboxRelay({
    dataSource,
    kafka,
    databaseUrl: settings.databaseUrl,
    logger,
    metrics,
    lockName: settings.service,
    keepPublishedMs: settings.outboxKeepPublishedMs,
  });
  const keys = new ApiKeyStore(dataSource, settings.acquirerKey);
  return { settings, logger, registry, dataSource, redis, kafka, keys, relay, metrics, consumer: null };
}

class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string) {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string) {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string) {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string) {
    this.logger.trace({ context }, String(message));
  }
}

let kafkaReady = { ok: false, at: 0 };

@Controller()
class PlatformController {
  constructor(@Inject(PLATFORM) private readonly p: Platform) {}

  @Public()
  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  @Public()
  @Get('health/ready')
  async ready(@Res({ passthrough: true }) res: Response) {
    const check = async (fn: () => Promise<unknown>) => {
      try {
        await Promise.race([
          fn(),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
        ]);
        return 'ok';
      } catch (err) {
        return `down: ${err instanceof Error ? err.message : String(err)}`;
      }
    };
    const checks = {
      postgres: await check(() => this.p.dataSource.query('SELECT 1')),
      redis: await check(() => this.p.redis.ping()),
      kafka: await check(async () => {
        if (kafkaReady.ok && Date.now() - kafkaReady.at < 5000) return;
        const admin = this.p.kafka.admin();
        try {
          await admin.connect();
          await admin.describeCluster();
          kafkaReady = { ok: true, at: Date.now() };
        } catch (err) {
          kafkaReady = { ok: false, at: Date.now() };
          throw err;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      }),
    };
    const ok = Object.values(checks).every((v) => v === 'ok');
    res.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'unavailable', checks };
  }

  @Public()
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async metrics() {
    return this.p.registry.metrics();
  }
}

@Global()
@Module({})
export class PlatformModule {
  static forRoot(platform: Platform): DynamicModule {
    return {
      module: PlatformModule,
      controllers: [PlatformController],
      providers: [
        { provide: PLATFORM, useValue: platform },
        { provide: REDIS, useValue: platform.redis },
        { provide: LOGGER, useValue: platform.logger },
        { provide: ApiKeyStore, useValue: platform.keys },
        { provide: 'DATA_SOURCE', useValue: platform.dataSource },
        { provide: APP_GUARD, useFactory: (r: Reflector) => new ApiKeyGuard(r, platform.keys), inject: [Reflector] },
        {
          provide: APP_INTERCEPTOR,
          useFactory: (r: Reflector) => new IdempotencyInterceptor(r, platform.redis, platform.settings.service),
          inject: [Reflector],
        },
        { provide: APP_FILTER, useValue: new AdmitErrorFilter(platform.logger) },
      ],
      exports: [PLATFORM, REDIS, LOGGER, ApiKeyStore, 'DATA_SOURCE'],
    };
  }
}

const CORRELATION_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export type ServiceDefinition = {
  platform: Platform;
  module: Type<unknown> | DynamicModule;
  title: string;
  description: string;
  operations: Operation[];
  /** Topics this service consumes (merchants is always added: every service learns API keys). */
  topics: string[];
  /** Builds the service's handlers once the Nest container exists. */
  handlers: (app: INestApplication) => HandlerMap;
  /** Optional set-based handlers for the most frequent event types (see EventConsumer). */
  batchHandlers?: (app: INestApplication) => BatchHandlerMap;
  /** Max events per consumer transaction (EventConsumer's default when absent). */
  consumerChunkSize?: number;
  /** Extra express setup before Nest routes (e.g. form bodies for wallet callbacks). */
  configure?: (app: express.Express) => void;
};

export type RunningService = { app: INestApplication; url: string; close: () => Promise<void> };

/** Starts HTTP, the outbox relay and the consumer; returns a handle that stops them in order. */
export async function startService(def: ServiceDefinition): Promise<RunningService> {
  const { platform } = def;
  const { settings, logger, registry } = platform;
  const app = await NestFactory.create(def.module, {
    bodyParser: false,
    logger: new PinoNestLogger(logger),
    abortOnError: false,
  });
  const httpSeconds = new Histogram({
    name: 'admit_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const server = app.getHttpAdapter().getInstance() as express.Express;
  server.disable('x-powered-by');
  server.set('etag', false);
  server.use((req: Request, res: Response, next: NextFunction) => {
    const requestId = `req_${randomUUID().replace(/-/g, '')}`;
    const incoming = req.headers['x-correlation-id'];
    const correlationId = typeof incoming === 'string' && CORRELATION_RE.test(incoming) ? incoming : newCorrelationId();
    (req as AuthedRequest).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Correlation-Id', correlationId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpSeconds.observe(
        { method: req.method, route: `${req.baseUrl}${route}`, status: String(res.statusCode) },
        seconds,
      );
      if (res.statusCode >= 500)
        logger.error({ requestId, method: req.method, path: req.path, status: res.statusCode }, 'request failed');
    });
    runInFlow({ correlationId, causationId: requestId, requestId }, () => next());
  });
  server.use(
    express.json({ limit: settings.bodyLimit, strict: false, type: ['application/json', 'application/*+json'] }),
  );
  def.configure?.(server);
  server.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const mapped = mapTransportError(err);
    if (!mapped) {
      next(err);
      return;
    }
    res
      .status(mapped.status)
      .json(errorBody((req as AuthedRequest).requestId ?? 'unknown', mapped.code, mapped.message));
  });
  // Reject bodies on POST/PATCH that are not JSON objects early: unknown media types → 415.
  server.use((req: Request, res: Response, next: NextFunction) => {
    if (
      ['POST', 'PATCH', 'PUT'].includes(req.method) &&
      req.headers['content-length'] !== '0' &&
      req.headers['content-type']
    ) {
      const type = req.headers['content-type'];
      if (!/^application\/(json|[\w.+-]+\+json|x-www-form-urlencoded)\b/i.test(type)) {
        res
          .status(415)
          .json(
            errorBody(
              (req as AuthedRequest).requestId ?? 'unknown',
              'UNSUPPORTED_MEDIA_TYPE',
              'Send JSON (Content-Type: application/json).',
            ),
          );
        return;
      }
    }
    next();
  });
  // Replays of finished idempotent requests, answered before Nest's pipeline (replay-fast-path.ts).
  if (settings.replayFastPath) {
    server.use(
      replayFastPath({
        routes: idempotentRoutes(app),
        redis: platform.redis,
        keys: platform.keys,
        service: settings.service,
      }),
    );
  }
  const document = buildOpenApi({ title: def.title, version: '1.0.0', description: def.description }, [
    ...PLATFORM_OPERATIONS,
    ...def.operations,
  ]);
  server.get('/openapi.json', (_req: Request, res: Response) => {
    res.json(document);
  });
  SwaggerModule.setup('docs', app, document as never, {
    jsonDocumentUrl: 'docs/openapi.json',
    customSiteTitle: def.title,
  });
  app.enableShutdownHooks();
  await app.init();

  await platform.relay.start();
  const handlers: HandlerMap = { ...platform.keys.handlers(), ...def.handlers(app) };
  const topics = [...new Set([TOPICS.merchants.name, ...def.topics])];
  const consumer = new EventConsumer({
    kafka: platform.kafka,
    dataSource: platform.dataSource,
    groupId: settings.groupId,
    topics,
    handlers,
    ...(def.batchHandlers ? { batchHandlers: def.batchHandlers(app) } : {}),
    ...(def.consumerChunkSize ? { chunkSize: def.consumerChunkSize } : {}),
    logger,
    metrics: platform.metrics,
  });
  await consumer.start();
  platform.consumer = consumer;
  await app.listen(settings.port, settings.host);
  const url = `http://${settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host}:${settings.port}`;
  logger.info({ url, topics }, `${settings.service} listening`);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await consumer.stop();
    await platform.relay.stop();
    await app.close();
    await platform.dataSource.destroy().catch(() => undefined);
    platform.redis.disconnect();
  };
  return { app, url, close };
}

/** `main` helper: start, and stop cleanly on SIGTERM/SIGINT. */
export function runUntilSignal(start: () => Promise<RunningService>, logger?: Logger): void {
  start()
    .then((svc) => {
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger?.info({ signal }, 'stopping');
        svc
          .close()
          .then(() => process.exit(0))
          .catch(() => process.exit(1));
        setTimeout(() => process.exit(1), 15000).unref();
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    })
    .catch((err: unknown) => {
      process.stderr.write(
        `${JSON.stringify({ level: 'fatal', msg: 'failed to start', err: err instanceof Error ? err.stack : String(err) })}\n`,
      );
      process.exit(1);
    });
}
