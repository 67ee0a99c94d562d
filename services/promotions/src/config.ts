import { z } from 'zod';
import { commonEnv, commonSettings, loadConfigOrExit, type CommonSettings } from '@admit/service-kit';

const schema = z.object({
  ...commonEnv('PROMOTIONS', 3003, 'admit_promotions'),
  /** Requests per minute per client IP on the public endpoints (offers, claim, offers page). */
  PROMOTIONS_PUBLIC_RATE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(120),
});

export type PromotionsSettings = CommonSettings & { publicRateLimitPerMinute: number };

/** Injection token of the promotions settings. */
export const PROMOTIONS_SETTINGS = Symbol('PROMOTIONS_SETTINGS');

export function loadPromotionsSettings(env: NodeJS.ProcessEnv = process.env): PromotionsSettings {
  const e = loadConfigOrExit('promotions', schema, env);
  return {
    ...commonSettings('promotions', 'PROMOTIONS', e as Record<string, unknown>),
    publicRateLimitPerMinute: e.PROMOTIONS_PUBLIC_RATE_LIMIT,
  };
}
