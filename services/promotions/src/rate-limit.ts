import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import type { Redis } from 'ioredis';
import { AdmitError, REDIS } from '@admit/service-kit';
import { PROMOTIONS_SETTINGS, type PromotionsSettings } from './config';

/** Fixed one-minute windows per client IP and bucket: Redis INCR, EXPIRE on the first hit. */
@Injectable()
export class RateLimiter {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PROMOTIONS_SETTINGS) private readonly settings: PromotionsSettings,
  ) {}

  async hit(bucket: string, req: Request): Promise<void> {
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const window = Math.floor(Date.now() / 60_000);
    const key = `rl:promotions:${bucket}:${ip}:${window}`;
    const n = await this.redis.incr(key);
    if (n === 1) await this.redis.expire(key, 61);
    if (n > this.settings.publicRateLimitPerMinute) {
      const retryAfter = 60 - Math.floor((Date.now() / 1000) % 60);
      throw new AdmitError(429, 'RATE_LIMITED', 'Too many requests; slow down.', undefined, {
        'Retry-After': String(retryAfter),
      });
    }
  }
}
