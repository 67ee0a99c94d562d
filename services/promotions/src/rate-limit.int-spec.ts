import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { Redis } from 'ioredis';
import { AdmitError } from '@admit/service-kit';
import type { PromotionsSettings } from './config';
import { RateLimiter } from './rate-limit';

/** The public endpoints' limiter against the real Redis: N per minute per IP, then 429 with Retry-After. */
describe('RateLimiter (Redis)', () => {
  const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379');
  afterAll(() => redis.quit());

  it('allows the limit per IP and bucket, then answers 429', async () => {
    const limiter = new RateLimiter(redis, { publicRateLimitPerMinute: 3 } as PromotionsSettings);
    const ip = (a: string) => ({ ip: a, socket: {} }) as unknown as Request;
    const bucket = `test-${randomUUID()}`;
    for (let i = 0; i < 3; i++) await limiter.hit(bucket, ip('10.0.0.1'));
    const err = await limiter.hit(bucket, ip('10.0.0.1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdmitError);
    expect((err as AdmitError).status).toBe(429);
    expect((err as AdmitError).code).toBe('RATE_LIMITED');
    expect(Number((err as AdmitError).headers?.['Retry-After'])).toBeGreaterThan(0);
    await limiter.hit(bucket, ip('10.0.0.2')); // another visitor is not affected
    await limiter.hit(`${bucket}-other`, ip('10.0.0.1')); // nor another endpoint
    const ttl = await redis.ttl(`rl:promotions:${bucket}:10.0.0.1:${Math.floor(Date.now() / 60_000)}`);
    expect(ttl === -2 || (ttl > 0 && ttl <= 61)).toBe(true);
  });
});
