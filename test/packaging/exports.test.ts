/**
 * Every option type is importable from the root entry, and every adapter names its types the
 * same way (`<Runtime>ServeOptions`, `<Runtime>Server`, plus the shared `ServeOptions` and
 * `ServerAddress`). Read from the sources' export lists with the TypeScript checker: the
 * built `.d.ts` files are made from these entries (test/unit/packaging.test.ts typechecks them).
 */
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const ENTRIES = {
  root: 'lib/index.ts',
  node: 'adapters/node/serve.ts',
  deno: 'adapters/deno.ts',
  bun: 'adapters/bun.ts',
  cloudRun: 'adapters/cloud-run/serve.ts',
  types: 'lib/options/types.ts',
};
const program = ts.createProgram(Object.values(ENTRIES).map((file) => join(ROOT, file)), {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowImportingTsExtensions: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
});
const checker = program.getTypeChecker();

function exportsOf(file: string): string[] {
  const source = program.getSourceFile(join(ROOT, file))!;
  return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!).map((symbol) => symbol.name).sort();
}

/** What lib/ builds from options for itself: not for callers. */
const INTERNAL = ['TokenDance', 'CompiledAccessRules', 'ResolvedRoute', 'ResolvedOptions', 'ResolvedUser', 'ResolvedClientAuth', 'ResolvedCache', 'ResolvedRateLimits'];

describe('exported types', () => {
  it('the root entry exports every option type', () => {
    const root = exportsOf(ENTRIES.root);
    const options = exportsOf(ENTRIES.types).filter((name) => !INTERNAL.includes(name));
    expect(options).toEqual(expect.arrayContaining(['UpstreamRoute', 'AccessRule', 'ClientAuthOptions', 'ProxyUser', 'ServeOptions', 'ServerAddress']));
    for (const name of options) expect(root, name).toContain(name);
  });

  it.each([
    ['node', 'Node'],
    ['deno', 'Deno'],
    ['bun', 'Bun'],
    ['cloudRun', 'CloudRun'],
  ] as const)('the %s adapter exports serve, %sServeOptions, %sServer, ServeOptions and ServerAddress', (entry, prefix) => {
    expect(exportsOf(ENTRIES[entry])).toEqual(expect.arrayContaining(['serve', `${prefix}ServeOptions`, `${prefix}Server`, 'ServeOptions', 'ServerAddress']));
  });
});
