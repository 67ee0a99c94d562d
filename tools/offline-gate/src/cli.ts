import { loadKit, verifyOffline } from './index';

/**
 * `node dist/tools/offline-gate/src/cli.js --kit kit.json [--now 2026-05-01T09:00:00Z] <code>`
 * Prints the verdict as JSON; exit code 0 = admitted, 1 = rejected, 2 = usage or kit error.
 */
export function main(argv: string[]): number {
  let kitPath: string | undefined;
  let now = new Date();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (a === '--kit') kitPath = argv[++i];
    else if (a === '--now') now = new Date(argv[++i] ?? '');
    else rest.push(a);
  }
  const code = rest[0];
  if (!kitPath || !code || rest.length !== 1 || Number.isNaN(now.getTime())) {
    process.stderr.write('usage: offline-gate --kit kit.json [--now ISO-8601] <ticket code>\n');
    return 2;
  }
  let kit;
  try {
    kit = loadKit(kitPath);
  } catch (err) {
    process.stderr.write(`cannot read the kit: ${(err as Error).message}\n`);
    return 2;
  }
  const verdict = verifyOffline(code, kit, now);
  const out =
    verdict.result === 'admitted'
      ? { result: 'admitted', ticketId: verdict.claims.tid, entries: verdict.claims.ent }
      : { result: 'rejected', reason: verdict.reason, ...(verdict.claims ? { ticketId: verdict.claims.tid } : {}) };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return verdict.result === 'admitted' ? 0 : 1;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
