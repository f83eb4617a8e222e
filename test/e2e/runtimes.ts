/**
 * The runtimes the end-to-end suite runs the proxy on, each as a child process. Binaries come
 * from the environment (REGISTRY_PROXY_NODE24, DENO_BIN, BUN_BIN, WORKERD_BIN) or from .runtimes/, where
 * `bash scripts/runtimes.sh` installs them from npm. A missing runtime is skipped locally and
 * fails the run in CI (`CI=true`): CI never silently tests fewer runtimes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const MODULES = join(ROOT, '.runtimes', 'node_modules');

export type RuntimeName = 'node20' | 'node24' | 'node24-ts' | 'deno' | 'bun' | 'workerd';

export interface Runtime {
  name: RuntimeName;
  /** The binary, or undefined when it is not installed. */
  bin: string | undefined;
  /** What was looked for, for the skip / failure message. */
  lookedFor: string;
  /** The command line that starts the CLI with `args`. */
  command(args: string[]): string[];
  /**
   * Whether a streamed body keeps the Content-Length the handler set. Bun.serve strips it and
   * sends `Transfer-Encoding: chunked` for any body still streaming, made in JS or not
   * (oven-sh/bun#10507); workerd does for streams made in JS, so the proxy pipes bodies through
   * its FixedLengthStream there.
   */
  keepsStreamedContentLength: boolean;
}

function firstExisting(candidates: Array<string | undefined>): string | undefined {
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

function versionOf(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return '';
  }
}

/** Node 20 is the machine's own: the one running vitest when it is 20, else `node` on PATH. */
function findNode20(): string | undefined {
  if (process.version.startsWith('v20.')) return process.execPath;
  const candidate = process.env.REGISTRY_PROXY_NODE20 ?? 'node';
  return versionOf(candidate).startsWith('v20.') ? candidate : undefined;
}

export function findRuntime(name: RuntimeName): Runtime {
  const env = process.env;
  switch (name) {
    case 'node20':
      return {
        name,
        bin: findNode20(),
        lookedFor: 'REGISTRY_PROXY_NODE20 or a v20 `node` on PATH',
        command: (args) => [join(ROOT, 'dist', 'cli.js'), ...args],
        keepsStreamedContentLength: true,
      };
    case 'node24':
    case 'node24-ts': {
      const bin = firstExisting([env.REGISTRY_PROXY_NODE24, join(MODULES, 'node', 'bin', 'node')]);
      return {
        name,
        bin: bin && versionOf(bin).startsWith('v24.') ? bin : undefined,
        lookedFor: 'REGISTRY_PROXY_NODE24 or .runtimes/node_modules/node/bin/node (bash scripts/runtimes.sh)',
        // node24-ts: the TypeScript sources as they are, through Node's type stripping.
        command: (args) => [join(ROOT, name === 'node24' ? 'dist/cli.js' : 'adapters/cli/node.ts'), ...args],
        keepsStreamedContentLength: true,
      };
    }
    case 'deno':
      return {
        name,
        bin: firstExisting([env.DENO_BIN, join(MODULES, 'deno', 'deno')]),
        lookedFor: 'DENO_BIN or .runtimes/node_modules/deno/deno (bash scripts/runtimes.sh)',
        // deno.json's nodeModulesDir "manual" resolves npm packages from the repo's node_modules.
        command: (args) => ['run', '-A', '--config', join(ROOT, 'deno.json'), join(ROOT, 'adapters', 'cli', 'deno.ts'), ...args],
        keepsStreamedContentLength: true,
      };
    case 'bun':
      return {
        name,
        bin: firstExisting([env.BUN_BIN, join(MODULES, 'bun', 'bin', 'bun.exe'), join(MODULES, '@oven', 'bun-linux-x64', 'bin', 'bun')]),
        lookedFor: 'BUN_BIN or .runtimes/node_modules/bun/bin/bun.exe (bash scripts/runtimes.sh)',
        command: (args) => [join(ROOT, 'adapters', 'cli', 'bun.ts'), ...args],
        keepsStreamedContentLength: false,
      };
    case 'workerd':
      return {
        name,
        bin: firstExisting([env.WORKERD_BIN, join(MODULES, 'workerd', 'bin', 'workerd')]),
        lookedFor: 'WORKERD_BIN or .runtimes/node_modules/workerd/bin/workerd (bash scripts/runtimes.sh)',
        // No CLI: the suite's flags become the example worker's bindings (see workerd.ts).
        command: () => {
          throw new Error('workerd runs a bundled worker, not the CLI: see test/e2e/workerd.ts');
        },
        keepsStreamedContentLength: true,
      };
  }
}

/** In CI a missing runtime is an error, never a skip. */
export const MUST_RUN = process.env.CI === 'true';
