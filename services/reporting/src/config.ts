import { z } from 'zod';
import { commonEnv, commonSettings, envInt, loadConfigOrExit, type CommonSettings } from '@admit/service-kit';
import { MAX_BPS } from './ledger/fees';

const schema = z.object({
  ...commonEnv('REPORTING', 3004, 'admit_reporting'),
  /** Merchant discount rate applied to merchants without a row in merchant_fee_rates (60 = 0.60 %). */
  REPORTING_DEFAULT_MDR_BPS: envInt(60, 0, MAX_BPS),
});

export type ReportingSettings = CommonSettings & {
  defaultMdrBps: number;
};

/** Injection token of the reporting settings. */
export const REPORTING_SETTINGS = Symbol('REPORTING_SETTINGS');

export function loadReportingSettings(env: NodeJS.ProcessEnv = process.env): ReportingSettings {
  const e = loadConfigOrExit('reporting', schema, env);
  return {
    ...commonSettings('reporting', 'REPORTING', e as Record<string, unknown>),
    defaultMdrBps: e.REPORTING_DEFAULT_MDR_BPS,
  };
}
