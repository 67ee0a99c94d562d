import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@admit/testing';

/**
 * The module boundaries are enforced, not decorative: lint with the repository's own config
 * rejects a service importing another service and contracts importing a platform lib.
 */
describe('Nx module boundaries', () => {
  const probes: string[] = [];
  const probe = (path: string, code: string) => {
    const file = join(REPO_ROOT, path);
    writeFileSync(file, code);
    probes.push(file);
    return file;
  };
  beforeAll(() => {
    execFileSync('npx', ['nx', 'show', 'projects'], {
      cwd: REPO_ROOT,
      stdio: 'ignore',
      env: { ...process.env, NX_DAEMON: 'false' },
    });
  }, 120_000);
  afterAll(() => {
    for (const f of probes.reverse()) rmSync(f, { force: true, recursive: true });
  });

  it('rejects service → service and contracts → platform imports, accepts service → contracts', () => {
    const dir = mkdtempSync(join(REPO_ROOT, 'services/ticketing/src/boundary-probe-'));
    probes.push(dir);
    const bad = probe(
      `${dir.slice(REPO_ROOT.length + 1)}/bad.ts`,
      "import { loadPaymentSettings } from '../../../payment/src/config';\nexport const x = loadPaymentSettings;\n",
    );
    const good = probe(
      `${dir.slice(REPO_ROOT.length + 1)}/good.ts`,
      "import { TOPICS } from '@admit/contracts';\nexport const y = TOPICS.orders.name;\n",
    );
    const contracts = probe(
      'libs/contracts/src/boundary-probe.ts',
      "import { createLogger } from '@admit/messaging';\nexport const z = createLogger;\n",
    );
    // The CLI, not the Node API: the API loads the flat config with a dynamic import jest cannot run.
    let out: string;
    try {
      out = execFileSync('npx', ['eslint', '--format', 'json', bad, good, contracts], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
    } catch (err) {
      out = (err as { stdout?: string }).stdout ?? '';
    }
    const results = JSON.parse(out) as { filePath: string; messages: { ruleId: string | null }[] }[];
    const rules = (file: string) => (results.find((r) => r.filePath === file)?.messages ?? []).map((m) => m.ruleId);
    expect(rules(bad)).toContain('@nx/enforce-module-boundaries');
    expect(rules(contracts)).toContain('@nx/enforce-module-boundaries');
    expect(rules(good)).not.toContain('@nx/enforce-module-boundaries');
  }, 180_000);
});
