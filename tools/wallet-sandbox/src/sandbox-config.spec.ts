import { DEFAULT_MD5_KEY, defaultSandboxOptions, loadSandboxOptionsFromEnv } from './sandbox-config';

describe('sandbox configuration from the environment', () => {
  it('uses the documented defaults', () => {
    const o = loadSandboxOptionsFromEnv({});
    expect(o).toMatchObject({
      port: 3010,
      host: '127.0.0.1',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/admit_wallet_sandbox',
      partnerId: '2088000000000001',
      signType: 'MD5',
      md5Key: DEFAULT_MD5_KEY,
      latencyMs: 0,
      timeoutSleepMs: 20_000,
      confirmDelayMs: 3_000,
      feeRate: '0.006',
      notifyScheduleScale: 1,
    });
    expect(DEFAULT_MD5_KEY).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(o.fxRates).toMatchObject({ CNY: '1', JPY: '0.048', USD: '7.1', EUR: '7.8' });
    expect(o.notifyUrlOverride).toBeUndefined();
  });

  it('reads every variable', () => {
    const o = loadSandboxOptionsFromEnv({
      SANDBOX_PORT: '4000',
      SANDBOX_HOST: '0.0.0.0',
      SANDBOX_DATABASE_URL: 'postgres://u@db:5432/w',
      SANDBOX_PARTNER_ID: '2088123412341234',
      SANDBOX_MD5_KEY: 'k'.repeat(32),
      SANDBOX_SIGN_TYPE: 'RSA2',
      SANDBOX_NOTIFY_URL: 'http://pay:3000/v1/wallets/alipay/notify',
      SANDBOX_LATENCY_MS: '50',
      SANDBOX_TIMEOUT_SLEEP_MS: '100',
      SANDBOX_CONFIRM_DELAY_MS: '200',
      SANDBOX_FEE_RATE: '0.01',
      SANDBOX_FX_RATES: '{"JPY":"0.05","USD":7.2}',
      SANDBOX_NOTIFY_SCHEDULE_SCALE: '0.001',
      SANDBOX_REQUIRE_REGISTRATION: 'true',
    });
    expect(o).toMatchObject({
      port: 4000,
      host: '0.0.0.0',
      databaseUrl: 'postgres://u@db:5432/w',
      partnerId: '2088123412341234',
      md5Key: 'k'.repeat(32),
      signType: 'RSA2',
      notifyUrlOverride: 'http://pay:3000/v1/wallets/alipay/notify',
      latencyMs: 50,
      timeoutSleepMs: 100,
      confirmDelayMs: 200,
      feeRate: '0.01',
      notifyScheduleScale: 0.001,
      requireRegistration: true,
    });
    expect(o.fxRates).toMatchObject({ JPY: '0.05', USD: '7.2', EUR: '7.8', CNY: '1' });
  });

  it.each([
    ['SANDBOX_PORT', 'x'],
    ['SANDBOX_PARTNER_ID', '1234'],
    ['SANDBOX_MD5_KEY', 'short'],
    ['SANDBOX_SIGN_TYPE', 'RSA'],
    ['SANDBOX_FX_RATES', '{"JPY":-1}'],
    ['SANDBOX_FX_RATES', 'not json'],
    ['SANDBOX_FEE_RATE', '-0.1'],
    ['SANDBOX_NOTIFY_URL', 'ftp://x'],
  ])('rejects %s=%s', (key, value) => {
    expect(() => loadSandboxOptionsFromEnv({ [key]: value })).toThrow();
  });

  it('ignores empty variables', () => {
    expect(loadSandboxOptionsFromEnv({ SANDBOX_PORT: '' }).port).toBe(defaultSandboxOptions().port);
  });
});
