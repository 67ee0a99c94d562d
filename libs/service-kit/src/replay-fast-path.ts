import { RequestMethod, type INestApplication, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer, Reflector } from '@nestjs/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import type { ApiScope } from '@admit/contracts';
import { authorize, routeAccess, type ApiKeyStore, type AuthedRequest } from './auth';
import { idempotencyClaim, isIdempotent, type StoredResponse } from './idempotency';

type Done = Extract<StoredResponse, { state: 'done' }>;

/** An `@Idempotent()` route, as the fast path matches it. */
export type ReplayRoute = { method: string; route: string; pattern: RegExp; scopes: ApiScope[] | undefined };

const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [typeof v === 'string' ? v : '/']);
const joinPath = (...parts: string[]): string =>
  `/${parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/')}`;

/**
 * Every `@Idempotent()` route of the application's controllers, with the scopes its guard
 * requires. Read from the same metadata Nest routes with, so a new idempotent route gets the fast
 * path without being listed anywhere. Routes the matcher cannot express exactly (wildcards,
 * optional parts) are left out: they simply take the normal path.
 */
export function idempotentRoutes(app: INestApplication): ReplayRoute[] {
  const reflector = new Reflector();
  const routes: ReplayRoute[] = [];
  for (const mod of app.get(ModulesContainer).values()) {
    for (const wrapper of mod.controllers.values()) {
      const cls = wrapper.metatype as Type<unknown> | null;
      if (!cls?.prototype) continue;
      const prototype = cls.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        if (!isIdempotent(reflector, handler)) continue;
        const access = routeAccess(reflector, [handler, cls]);
        if (access.public) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        for (const base of asList(Reflect.getMetadata(PATH_METADATA, cls))) {
          for (const own of asList(Reflect.getMetadata(PATH_METADATA, handler))) {
            const route = joinPath(base, own);
            if (!method || !/^[A-Za-z0-9_/:.-]*$/.test(route)) continue;
            const source = route
              .split('/')
              .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.]/g, '\\.')))
              .join('/');
            routes.push({ method, route, pattern: new RegExp(`^${source}/?$`), scopes: access.scopes });
          }
        }
      }
    }
  }
  return routes;
}

/**
 * Sends `body` the way Nest's Express adapter sends a handler's return value: an object as JSON
 * (the bytes and headers of Express's `res.json`, serialized once per cached record), anything
 * else through `res.send`.
 */
function sendLikeNest(res: Response, body: unknown, json: Buffer | null): void {
  if (json) {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', json.length);
    res.end(json);
  } else if (body === null || body === undefined) res.send();
  else res.send(String(body as string | number | boolean)); // not an object: `json` is null only then
}

/** The JSON bytes of an object body (what `res.json` would send), or null for other bodies. */
const jsonOf = (body: unknown): Buffer | null =>
  body !== null && typeof body === 'object' ? Buffer.from(JSON.stringify(body), 'utf8') : null;

/**
 * Replays of finished idempotent requests, answered before Nest's pipeline (Express middleware,
 * after body parsing). A replay is the busiest idempotent request a client retrying a timed-out
 * capture sends, and the answer is already known: the stored status and body. This middleware
 * decides exactly as the guard and the interceptor would for that case, with the same code
 * (`authorize`, `idempotencyClaim`): a valid key with the route's scope, a well-formed key whose
 * record is `done` with the same fingerprint → the stored status, `Idempotent-Replayed: true` and
 * the stored body. Anything else (no header, a bad or revoked key, a wrong scope, a key in
 * progress or reused with another body, no record, Redis unreachable) goes on to Nest untouched,
 * which answers it as before; the fast path only reads (GET), the claim (SET NX) stays in the
 * interceptor. A record once `done` never changes until it expires (the interceptor's COMPLETE
 * and RELEASE only touch an `in_progress` marker), so reading it here cannot answer differently
 * from the interceptor, and a `done` record read once is kept in this process's memory for at
 * most `cacheMs` and never past its own expiry in Redis (its PTTL, read in the same round trip):
 * a client retrying in a loop is then answered without a Redis round trip.
 */
export function replayFastPath(o: {
  routes: ReplayRoute[];
  redis: Redis;
  keys: ApiKeyStore;
  service: string;
  /** How long a `done` record stays in memory (default 60 s; 0: no memory, always ask Redis). */
  cacheMs?: number;
  /** Records kept in memory at most (default 10 000; the oldest goes first). */
  cacheEntries?: number;
}): RequestHandler {
  const byMethod = new Map<string, ReplayRoute[]>();
  for (const r of o.routes) byMethod.set(r.method, [...(byMethod.get(r.method) ?? []), r]);
  const cacheMs = o.cacheMs ?? 60_000;
  const cacheEntries = o.cacheEntries ?? 10_000;
  const cache = new Map<string, { stored: Done; json: Buffer | null; until: number }>();

  /** The `done` record under `redisKey`, from memory or Redis (GET and PTTL in one round trip). */
  const doneRecord = async (redisKey: string): Promise<{ stored: Done; json: Buffer | null } | null> => {
    const now = Date.now();
    const hit = cache.get(redisKey);
    if (hit && hit.until > now) return hit;
    if (hit) cache.delete(redisKey);
    const answers = await o.redis.pipeline().get(redisKey).pttl(redisKey).exec();
    const [get, pttl] = answers ?? [];
    const raw = get?.[0] ? null : (get?.[1] as string | null);
    if (raw === null || raw === undefined) return null;
    let stored: StoredResponse;
    try {
      stored = JSON.parse(raw) as StoredResponse;
    } catch {
      return null;
    }
    if (stored.state !== 'done') return null;
    const record = { stored, json: jsonOf(stored.body) };
    const ttl = pttl?.[0] ? 0 : Number(pttl?.[1]);
    const keep = ttl === -1 ? cacheMs : Math.min(cacheMs, ttl);
    if (keep > 0) {
      if (cache.size >= cacheEntries) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      cache.set(redisKey, { ...record, until: now + keep });
    }
    return record;
  };

  const serve = async (req: AuthedRequest, res: Response, route: ReplayRoute): Promise<boolean> => {
    const { principal, error } = await authorize(o.keys, req.headers.authorization, route.scopes);
    if (!principal || error) return false;
    req.principal = principal;
    let claim: ReturnType<typeof idempotencyClaim>;
    try {
      claim = idempotencyClaim(o.service, req);
    } catch {
      return false; // a malformed key or body: the interceptor answers the 400
    }
    if (!claim) return false;
    const record = await doneRecord(claim.redisKey);
    if (!record || record.stored.hash !== claim.hash) return false;
    const { stored, json } = record;
    // the request latency metric labels the response with its route, as for a routed request
    (req as Request & { route?: unknown }).route = { path: route.route };
    res.status(stored.status);
    res.setHeader('Idempotent-Replayed', 'true');
    sendLikeNest(res, stored.body, json);
    return true;
  };

  return (req: Request, res: Response, next: NextFunction) => {
    if (req.headers['idempotency-key'] === undefined) return next();
    const route = byMethod.get(req.method)?.find((r) => r.pattern.test(req.path));
    if (!route) return next();
    serve(req as AuthedRequest, res, route).then(
      (served) => {
        if (!served) next();
      },
      // Redis unreachable, say: Nest answers (its interceptor reports the failure its own way)
      (err: unknown) => (res.headersSent ? next(err) : next()),
    );
  };
}
