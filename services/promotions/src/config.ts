import { z } from 'zod';
import { commonEnv, commonSettings, loadConfigOrExit, type CommonSettings } from '@admit/service-kit';

const schema = z.object({
  ...commonEnv('PROMOTIONS', 3003, 'admit_promotions'),
});

export type PromotionsSettings = CommonSettings;

/** Injection token of the promotions settings. */
export const PROMOTIONS_SETTINGS = Symbol('PROMOTIONS_SETTINGS');

export function loadPromotionsSettings(env: NodeJS.ProcessEnv = process.env): PromotionsSettings {
  const e = loadConfigOrExit('promotions', schema, env);
  return commonSettings('promotions', 'PROMOTIONS', e as Record<string, unknown>);
}
