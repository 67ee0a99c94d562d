import { createHash, randomUUID } from 'node:crypto';
import { Injectable, SetMetadata, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { AuthedRequest } from './auth';
import { AdmitError, toAdmitError, errorBody, requestIdOf } from './errors';

const IDEMPOTENT_KEY = 'admit:idempotent';
/** Marks a creating POST as honouring `Idempotency-Key` (api-v1.md). */
export const Idempotent = () => SetMetadata(IDEMPOTENT_KEY, true);
/** Whether a route handler is marked `@Idempotent()`. */
export const isIdempotent = (reflector: Reflector, handler: Parameters<Reflector['get']>[1]): boolean =>
  reflector.get<boolean | undefined>(IDEMPOTENT_KEY, handler) === true;

export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
const TRANSIENT_STATUSES = new Set([404, 409, 429]);
/** How long an in-progress marker lives if its owner dies without finishing. */
export const IN_PROGRESS_TTL_MS = 120_000;

/** What Redis holds under a request's key: its in-progress marker, then its stored response. */
export type StoredResponse =
  | { state: 'in_progress'; hash: string; token: string }
  | { state: 'done'; hash: string; status: number; body: unknown };

/**
 * The `Idempotency-Key` of a request as Redis stores it: the key, its Redis key (per service and
 * tenant) and the request's fingerprint; null without the header. Throws 400 for a malformed key
 * or a body nested too deep. Call after authentication (the tenant is the principal's).
 */
export function idempotencyClaim(
  service: string,
  req: AuthedRequest,
): { key: string; redisKey: string; hash: string } | null {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return null;
  const key = Array.isArray(raw) ? (raw[0] ?? '') : raw;
  if (key.length < 1 || key.length > 255) {
    throw AdmitError.validation([
      { field: 'Idempotency-Key', code: 'INVALID_FORMAT', message: 'Must be 1 to 255 characters.' },
    ]);
  }
  const tenant = req.principal?.merchantId ?? req.principal?.keyId ?? 'anonymous';
  return {
    key,
    redisKey: idempotencyRedisKey(service, tenant, key),
    hash: requestFingerprint(req.method, req.path, req.body),
  };
}

/** `idem:<service>:<tenant>:<sha256(key)>`, the one place the key format lives. */
export function idempotencyRedisKey(service: string, tenant: string, key: string): string {
  return `idem:${service}:${tenant}:${createHash('sha256').update(key).digest('hex')}`;
}

export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${path}\n${canonicalJson(body)}`)
    .digest('hex');
}

/**
 * No Admit request nests more than a few levels. The body is hashed before it is validated, so a
 * deeper one (up to the body limit, `[[[[…` is ~30 000 levels in 64kb) is refused here instead of
 * overflowing the stack of this recursion (RangeError → 500).
 */
const MAX_BODY_DEPTH = 64;

function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_BODY_DEPTH) {
    throw AdmitError.validation([
      { field: '(body)', code: 'TOO_DEEP', message: `The body is nested more than ${MAX_BODY_DEPTH} levels deep.` },
    ]);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

// Complete only if the marker is still ours (a marker that expired and was re-claimed is not).
const COMPLETE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, obj = pcall(cjson.decode, cur)
if not ok or obj.state ~= 'in_progress' or obj.token ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`;
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, obj = pcall(cjson.decode, cur)
if ok and obj.state == 'in_progress' and obj.token == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0`;

/**
 * The Redis fast path of `Idempotency-Key`: claim with SET NX (an in-progress marker with the
 * request's fingerprint), replay a stored response, 422 for the same key with another body, 409
 * with Retry-After while the first request runs. The stored response is written before the
 * marker is released. Redis is not the only guard: writes that move money keep a PostgreSQL
 * unique constraint on (merchant, idempotency key) as the final guarantee.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly redis: Redis,
    private readonly service: string,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    if (!isIdempotent(this.reflector, context.getHandler())) return next.handle();
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const claim = idempotencyClaim(this.service, req);
    if (!claim) return next.handle();
    const { key, redisKey, hash } = claim;
    const res = context.switchToHttp().getResponse<Response>();
    const statusFor = () => {
      const meta = this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler());
      return res.statusCode !== 200 ? res.statusCode : (meta ?? (req.method === 'POST' ? 201 : 200));
    };
    return from(
      this.run(
        redisKey,
        hash,
        key,
        req,
        res,
        () => lastValueFrom(next.handle(), { defaultValue: undefined }),
        statusFor,
      ),
    );
  }

  private async run(
    redisKey: string,
    hash: string,
    key: string,
    req: AuthedRequest,
    res: Response,
    handle: () => Promise<unknown>,
    statusFor: () => number,
  ): Promise<unknown> {
    const token = randomUUID();
    const marker: StoredResponse = { state: 'in_progress', hash, token };
    // One round trip for the claim and the replay: SET … NX GET (Redis ≥ 7.0) sets the marker when
    // the key is free (answer null) and otherwise leaves it and answers the stored record.
    const existing = await this.redis.set(redisKey, JSON.stringify(marker), 'PX', IN_PROGRESS_TTL_MS, 'NX', 'GET');
    if (existing !== null) {
      const stored = JSON.parse(existing) as StoredResponse;
      if (stored.hash !== hash) {
        throw new AdmitError(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request.');
      }
      if (stored.state === 'in_progress') {
        throw new AdmitError(
          409,
          'REQUEST_IN_PROGRESS',
          'A request with this Idempotency-Key is still being processed.',
          undefined,
          {
            'Retry-After': '1',
          },
        );
      }
      res.status(stored.status);
      res.setHeader('Idempotent-Replayed', 'true');
      return stored.body;
    }
    try {
      const body = await handle();
      const done: StoredResponse = { state: 'done', hash, status: statusFor(), body };
      await this.redis.eval(COMPLETE, 1, redisKey, token, JSON.stringify(done), IDEMPOTENCY_TTL_MS);
      return body;
    } catch (err) {
      const admit = toAdmitError(err);
      if (admit.status < 500 && !TRANSIENT_STATUSES.has(admit.status)) {
        // A definite client error is part of the key's history: a retry gets the same answer.
        // 404/409/429 may change (an order not yet known, a payment still in flight), so a
        // retry with the same key runs again.
        const body = errorBody(requestIdOf(req), admit.code, admit.message, admit.details);
        const done: StoredResponse = { state: 'done', hash, status: admit.status, body };
        await this.redis.eval(COMPLETE, 1, redisKey, token, JSON.stringify(done), IDEMPOTENCY_TTL_MS);
      } else {
        await this.redis.eval(RELEASE, 1, redisKey, token);
      }
      throw err;
    }
  }
}
