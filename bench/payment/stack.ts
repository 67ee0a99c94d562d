/**
 * `startStack` from @admit/testing, usable from the compiled bench.
 *
 * libs/testing/src/stack.ts finds the repository as `resolve(__dirname, '../../..')`, which is
 * right for the TypeScript source (jest) but points at `dist/` once compiled, so the compiled
 * copy would look for `dist/dist/services/...`. When that is the case, the bench compiles the
 * source file itself (typescript's transpileModule) and loads it with its real path, so
 * `__dirname` is libs/testing/src and the stack is exactly the one the e2e tests start.
 */
import { existsSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import * as compiled from '@admit/testing';

type StackModule = typeof compiled;

export function loadStackModule(root: string): StackModule {
  if (existsSync(join(compiled.REPO_ROOT, 'dist/services/payment/src/main.js'))) return compiled;
  const file = join(root, 'libs/testing/src/stack.ts');
  // typescript is a devDependency; loaded lazily so the normal path never needs it
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const out = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: file,
  });
  type Internal = Module & { _compile(code: string, filename: string): void; paths: string[] };
  const ModuleCtor = Module as unknown as {
    new (id: string, parent?: Module): Internal;
    _nodeModulePaths(dir: string): string[];
  };
  const m = new ModuleCtor(file, module);
  m.filename = file;
  m.paths = ModuleCtor._nodeModulePaths(dirname(file));
  m._compile(out.outputText, file);
  const loaded = m.exports as Pick<StackModule, 'startStack' | 'REPO_ROOT'>;
  if (!existsSync(join(loaded.REPO_ROOT, 'dist/services/payment/src/main.js'))) {
    throw new Error(`no built payment service under ${loaded.REPO_ROOT}/dist: run npm run build first`);
  }
  return { ...compiled, ...loaded };
}
