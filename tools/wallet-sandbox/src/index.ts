export { startSandbox, type RunningSandbox } from './sandbox-server';
export {
  defaultSandboxOptions,
  loadSandboxOptionsFromEnv,
  DEFAULT_MD5_KEY,
  DEFAULT_PARTNER_ID,
  type SandboxOptions,
} from './sandbox-config';
export { behaviourOf, type CodeBehaviour } from './payment-code-behaviour';
export { TRANSACTION_COLUMNS, SETTLEMENT_COLUMNS } from './daily-files';
