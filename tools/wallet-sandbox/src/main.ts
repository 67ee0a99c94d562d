import { loadSandboxOptionsFromEnv } from './sandbox-config';
import { startSandbox } from './sandbox-server';

/** Entry point: `node dist/tools/wallet-sandbox/src/main.js` (configuration from SANDBOX_* env vars). */
async function main(): Promise<void> {
  const options = loadSandboxOptionsFromEnv(process.env);
  const sandbox = await startSandbox(options);
  options.log(
    `listening on ${sandbox.url} (gateway ${sandbox.gatewayUrl}), partner ${options.partnerId}, ` +
      `sign type ${options.signType}, database ${new URL(options.databaseUrl).pathname.slice(1)}`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    options.log(`${signal}: shutting down`);
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        options.log(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `[wallet-sandbox] failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
