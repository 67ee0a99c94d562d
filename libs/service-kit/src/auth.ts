import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, createParamDecorator, Injectable, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { DataSource } from 'typeorm';
import type { ApiScope, EventPayload } from '@admit/contracts';
import type { HandlerMap } from '@admit/messaging';
import { AdmitError } from './errors';

/** Who is calling: resolved from the bearer key. */
export type Principal = {
  keyId: string;
  scope: ApiScope;
  merchantId: string | null;
  attractionId: string | null;
};

export const ACQUIRER_ENV_KEY_ID = 'key_acquirer_env';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** DDL of the key table every service keeps (fed from `merchants` events). */
export const API_KEYS_DDL_UP = [
  `CREATE TABLE api_keys (
     key_id text PRIMARY KEY,
     merchant_id text,
     scope text NOT NULL CHECK (scope IN ('acquirer', 'merchant', 'gate')),
     attraction_id text,
     secret_hash char(64) NOT NULL UNIQUE,
     created_at timestamptz NOT NULL,
     revoked_at timestamptz
   )`,
  `CREATE INDEX api_keys_merchant_idx ON api_keys (merchant_id)`,
];
export const API_KEYS_DDL_DOWN = ['DROP TABLE api_keys'];

type CacheEntry = { principal: Principal | null; until: number };

/**
 * Resolves secrets to principals. Keys are stored hashed (SHA-256 of a 256-bit random secret);
 * lookups are cached for `ttlMs` so a revocation takes effect within that time on every replica
 * (and at once on the replica that consumed the revocation).
 */
export class ApiKeyStore {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly acquirerHash: Buffer;

  constructor(
    private readonly dataSource: DataSource,
    acquirerKey: string,
    private readonly ttlMs = 2000,
  ) {
    this.acquirerHash = Buffer.from(hashSecret(acquirerKey), 'hex');
  }

  async resolve(secret: string): Promise<Principal | null> {
    if (secret.length < 16 || secret.length > 200) return null;
    const hash = hashSecret(secret);
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.acquirerHash)) {
      // The key id names this particular secret, so idempotency records of one acquirer key
      // never answer for another (a rotated key, or another deployment sharing Redis).
      return {
        keyId: `${ACQUIRER_ENV_KEY_ID}_${hash.slice(0, 16)}`,
        scope: 'acquirer',
        merchantId: null,
        attractionId: null,
      };
    }
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.principal;
    const rows = (await this.dataSource.query(
      `SELECT key_id, scope, merchant_id, attraction_id FROM api_keys WHERE secret_hash = $1 AND revoked_at IS NULL`,
      [hash],
    )) as { key_id: string; scope: ApiScope; merchant_id: string | null; attraction_id: string | null }[];
    const row = rows[0];
    const principal = row
      ? { keyId: row.key_id, scope: row.scope, merchantId: row.merchant_id, attractionId: row.attraction_id }
      : null;
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + this.ttlMs });
    return principal;
  }

  forget(): void {
    this.cache.clear();
  }

  /** Consumer handlers for `merchants` events: every service learns and forgets keys from them. */
  handlers(): HandlerMap {
    return {
      'api_key.issued': async (p: EventPayload<'api_key.issued'>, { manager }) => {
        await manager.query(
          `INSERT INTO api_keys (key_id, merchant_id, scope, attraction_id, secret_hash, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_id) DO NOTHING`,
          [p.keyId, p.merchantId, p.scope, p.attractionId, p.secretHash, p.createdAt],
        );
      },
      'api_key.revoked': async (p: EventPayload<'api_key.revoked'>, { manager }) => {
        await manager.query(`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE key_id = $1`, [
          p.keyId,
          p.revokedAt,
        ]);
        this.forget();
      },
    };
  }
}

const SCOPES_KEY = 'admit:scopes';
const PUBLIC_KEY = 'admit:public';

/** The scopes allowed to call a route. Routes without it (and without @Public) are refused. */
export const RequireScopes = (...scopes: ApiScope[]) => SetMetadata(SCOPES_KEY, scopes);
/** A route anyone may call (health, metrics, docs, visitor pages). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export type AuthedRequest = Request & { principal?: Principal; requestId?: string };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  if (!req.principal) throw new AdmitError(401, 'UNAUTHENTICATED', 'An API key is required.');
  return req.principal;
});

/** Global guard: bearer key → principal; 401 without a valid key, 403 without the scope. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyStore,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const access = routeAccess(this.reflector, [context.getHandler(), context.getClass()]);
    if (access.public) return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const { principal, error } = await authorize(this.keys, req.headers.authorization, access.scopes);
    if (principal) req.principal = principal;
    if (error) throw error;
    return true;
  }
}

/** What a route requires of its caller (`@Public`, `@RequireScopes`), read from its metadata. */
export function routeAccess(
  reflector: Reflector,
  targets: Parameters<Reflector['getAllAndOverride']>[1],
): { public: boolean; scopes: ApiScope[] | undefined } {
  return {
    public: reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets) === true,
    scopes: reflector.getAllAndOverride<ApiScope[] | undefined>(SCOPES_KEY, targets),
  };
}

/**
 * The guard's decision for an `Authorization` header: the principal (when the key is valid) and
 * the error to answer, if any (401 without a valid key, 403 without the scope). Shared by the
 * guard and the replay fast path.
 */
export async function authorize(
  keys: ApiKeyStore,
  header: string | undefined,
  scopes: ApiScope[] | undefined,
): Promise<{ principal: Principal | null; error: AdmitError | null }> {
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match?.[1]) {
    const error = new AdmitError(
      401,
      'UNAUTHENTICATED',
      'Send an API key as "Authorization: Bearer <secret>".',
      undefined,
      {
        'WWW-Authenticate': 'Bearer',
      },
    );
    return { principal: null, error };
  }
  const principal = await keys.resolve(match[1]);
  if (!principal) {
    const error = new AdmitError(401, 'UNAUTHENTICATED', 'The API key is not valid or has been revoked.', undefined, {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    });
    return { principal: null, error };
  }
  if (!scopes || !scopes.includes(principal.scope)) {
    const error = new AdmitError(
      403,
      'FORBIDDEN',
      `This key's scope (${principal.scope}) may not call this operation.`,
    );
    return { principal, error };
  }
  return { principal, error: null };
}

/**
 * The merchant a request acts for. A merchant key acts for itself (whatever ids it sends); an
 * acquirer key names the merchant explicitly. Another merchant's resource → 404 (api-v1.md).
 */
export function ownedBy(principal: Principal, merchantId: string | null | undefined): boolean {
  if (principal.scope === 'acquirer') return true;
  return merchantId !== null && merchantId !== undefined && principal.merchantId === merchantId;
}
