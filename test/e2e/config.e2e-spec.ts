import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '@admit/testing';

/** Bad configuration stops a service at boot, naming every bad key, before it touches anything. */
describe.each(['payment', 'ticketing', 'promotions', 'reporting'])('%s with bad configuration', (service) => {
  it('exits 78 and lists the bad keys', () => {
    const prefix = service.toUpperCase();
    const run = spawnSync(process.execPath, [join(REPO_ROOT, `dist/services/${service}/src/main.js`)], {
      env: {
        PATH: process.env['PATH'] ?? '',
        [`${prefix}_PORT`]: 'not-a-port',
        KAFKA_BROKERS: 'nohostport',
        [`${prefix}_DATABASE_URL`]: 'mysql://x',
      },
      encoding: 'utf8',
      timeout: 30000,
    });
    expect(run.status).toBe(78);
    const line = JSON.parse(run.stderr.trim().split('\n').pop() ?? '{}') as { badKeys?: { key: string }[] };
    const keys = (line.badKeys ?? []).map((k) => k.key);
    expect(keys).toEqual(
      expect.arrayContaining([`${prefix}_PORT`, 'KAFKA_BROKERS', `${prefix}_DATABASE_URL`, 'ADMIT_ACQUIRER_KEY']),
    );
  });
});
