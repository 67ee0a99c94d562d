/**
 * The replay fast path on a real Nest application, PostgreSQL (the key table) and Redis: a
 * finished idempotent request is replayed before Nest with the same status and bytes, and every
 * other case (another body, a revoked key, a wrong scope, a new key) still reaches Nest and gets
 * Nest's answer. (Here rather than next to replay-fast-path.ts: a test in service-kit may not use
 * this library's scratch databases, which depend on service-kit.)
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  Body,
  Controller,
  Injectable,
  Module,
  Post,
  type CallHandler,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory, Reflector } from '@nestjs/core';
import express from 'express';
import { Redis } from 'ioredis';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createLogger } from '@admit/messaging';
import {
  AdmitErrorFilter,
  API_KEYS_DDL_UP,
  ApiKeyGuard,
  ApiKeyStore,
  hashSecret,
  Idempotent,
  IdempotencyInterceptor,
  idempotencyRedisKey,
  idempotentRoutes,
  replayFastPath,
  RequireScopes,
} from '@admit/service-kit';
import { scratchDatabase, type ScratchDb } from '../src';

jest.setTimeout(60_000);

class ApiKeys1764000000000 implements MigrationInterface {
  name = 'ApiKeys1764000000000';
  async up(qr: QueryRunner): Promise<void> {
    for (const sql of API_KEYS_DDL_UP) await qr.query(sql);
  }
  async down(qr: QueryRunner): Promise<void> {
    await qr.query('DROP TABLE api_keys');
  }
}

/** Requests that got past the guard into Nest's interceptors (the fast path answers before). */
const reached = { count: 0 };
const handled = { count: 0 };

@Injectable()
class CountingInterceptor implements NestInterceptor {
  intercept(_ctx: unknown, next: CallHandler) {
    reached.count += 1;
    return next.handle();
  }
}

@Controller('v1/things')
class ThingsController {
  @Post()
  @RequireScopes('merchant')
  @Idempotent()
  create(@Body() body: { name?: string }) {
    handled.count += 1;
    return { id: `thing_${handled.count}`, name: body.name ?? null, at: new Date(Date.UTC(2026, 11, 4)) };
  }
}

type Answer = { status: number; text: string; type: string | null; replayed: string | null };

describe('idempotent replay fast path', () => {
  let db: ScratchDb;
  let redis: Redis;
  let app: INestApplication;
  let base: string;
  let keys: ApiKeyStore;
  const service = `it-replay-${randomBytes(3).toString('hex')}`;
  const merchantSecret = `sk_test_${randomBytes(24).toString('hex')}`;
  const acquirerSecret = `ak_test_${randomBytes(24).toString('hex')}`;

  const post = async (secret: string, key: string, body: unknown): Promise<Answer> => {
    const r = await fetch(`${base}/v1/things`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'idempotency-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: r.status,
      text: await r.text(),
      type: r.headers.get('content-type'),
      replayed: r.headers.get('idempotent-replayed'),
    };
  };

  beforeAll(async () => {
    db = await scratchDatabase('it_replay', [ApiKeys1764000000000]);
    await db.ds.query(
      `INSERT INTO api_keys (key_id, merchant_id, scope, secret_hash, created_at) VALUES ('key_m1', 'mch_1', 'merchant', $1, now())`,
      [hashSecret(merchantSecret)],
    );
    redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 2 });
    keys = new ApiKeyStore(db.ds, acquirerSecret, 60_000);

    @Module({
      controllers: [ThingsController],
      providers: [
        { provide: APP_GUARD, useFactory: (r: Reflector) => new ApiKeyGuard(r, keys), inject: [Reflector] },
        // first, so it counts every request the guard lets into Nest's interceptors
        { provide: APP_INTERCEPTOR, useClass: CountingInterceptor },
        {
          provide: APP_INTERCEPTOR,
          useFactory: (r: Reflector) => new IdempotencyInterceptor(r, redis, service),
          inject: [Reflector],
        },
        { provide: APP_FILTER, useValue: new AdmitErrorFilter(createLogger(service, 'silent')) },
      ],
    })
    class TestModule {}

    app = await NestFactory.create(TestModule, { bodyParser: false, logger: false });
    const server = app.getHttpAdapter().getInstance() as express.Express;
    server.use(express.json());
    server.use(replayFastPath({ routes: idempotentRoutes(app), redis, keys, service }));
    await app.init();
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await app?.close();
    const stale = (await redis?.keys(`idem:${service}:*`)) ?? [];
    if (stale.length > 0) await redis.del(...stale);
    redis?.disconnect();
    await db?.drop();
  });

  it('finds the idempotent routes in the controllers metadata', () => {
    const routes = idempotentRoutes(app);
    expect(routes.map((r) => ({ method: r.method, route: r.route, scopes: r.scopes }))).toEqual([
      { method: 'POST', route: '/v1/things', scopes: ['merchant'] },
    ]);
    expect(routes[0]?.pattern.test('/v1/things')).toBe(true);
    expect(routes[0]?.pattern.test('/v1/things/x')).toBe(false);
  });

  it('replays a finished request before Nest, with the same status and bytes', async () => {
    const key = `k-${randomBytes(4).toString('hex')}`;
    const first = await post(merchantSecret, key, { name: 'a' });
    expect(first.status).toBe(201);
    expect(first.replayed).toBeNull();
    const reachedAfterFirst = reached.count;
    const handledAfterFirst = handled.count;

    for (let i = 0; i < 3; i++) {
      const again = await post(merchantSecret, key, { name: 'a' });
      expect(again).toEqual({ status: 201, text: first.text, type: first.type, replayed: 'true' });
    }
    expect(handled.count).toBe(handledAfterFirst);
    expect(reached.count).toBe(reachedAfterFirst); // answered by the fast path, not the interceptor
  });

  it('keeps a done record in memory, never past its expiry in Redis', async () => {
    const key = `k-${randomBytes(4).toString('hex')}`;
    const redisKey = idempotencyRedisKey(service, 'mch_1', key);
    const first = await post(merchantSecret, key, { name: 'c' });
    expect(first.status).toBe(201);
    // the record expires in 400 ms: the fast path may keep it that long, no longer
    await redis.pexpire(redisKey, 400);
    const handledBefore = handled.count;
    expect(await post(merchantSecret, key, { name: 'c' })).toEqual({
      status: 201,
      text: first.text,
      type: first.type,
      replayed: 'true',
    });
    await redis.del(redisKey); // gone from Redis: answered from memory while its expiry is ahead
    expect(await post(merchantSecret, key, { name: 'c' })).toEqual({
      status: 201,
      text: first.text,
      type: first.type,
      replayed: 'true',
    });
    expect(handled.count).toBe(handledBefore);
    await new Promise((r) => setTimeout(r, 500));
    // past the record's expiry: a new request, run by the handler
    const after = await post(merchantSecret, key, { name: 'c' });
    expect(after.status).toBe(201);
    expect(after.replayed).toBeNull();
    expect(handled.count).toBe(handledBefore + 1);
  });

  it('leaves every other case to Nest: another body, a wrong scope, a new key, a revoked key', async () => {
    const key = `k-${randomBytes(4).toString('hex')}`;
    const first = await post(merchantSecret, key, { name: 'b' });
    expect(first.status).toBe(201);

    const before = reached.count;
    const reused = await post(merchantSecret, key, { name: 'other' });
    expect(reused.status).toBe(422);
    expect(JSON.parse(reused.text)).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(reached.count).toBe(before + 1);

    const wrongScope = await post(acquirerSecret, key, { name: 'b' });
    expect(wrongScope.status).toBe(403);

    const fresh = await post(merchantSecret, `${key}-new`, { name: 'b' });
    expect(fresh.status).toBe(201);
    expect(fresh.replayed).toBeNull();
    expect(reached.count).toBe(before + 2);

    // revoked: the key store forgets it (as on api_key.revoked), and the replay is refused by the guard
    await db.ds.query(`UPDATE api_keys SET revoked_at = now() WHERE key_id = 'key_m1'`);
    keys.forget();
    const revoked = await post(merchantSecret, key, { name: 'b' });
    expect(revoked.status).toBe(401);
    expect(JSON.parse(revoked.text)).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    await db.ds.query(`UPDATE api_keys SET revoked_at = NULL WHERE key_id = 'key_m1'`);
    keys.forget();
  });
});
