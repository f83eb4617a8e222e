/**
 * The real server processes the fault suite drives: the CLI on Node 20 and 24 (built), Deno and
 * Bun, the Cloud Run entry, and the Node adapter's `serve({ fetch })` with a custom upstream
 * fetch (Node's own undici fetch, so bodies go through lib's checks and the web-stream path).
 */
import { join } from 'node:path';
import { findRuntime, ROOT, type Runtime } from '../e2e/runtimes.ts';

export type TargetName = 'node20' | 'node24' | 'deno' | 'bun' | 'cloud-run' | 'custom-fetch';

export interface Target {
  name: TargetName;
  runtime: Runtime;
  /** Whether it runs the built `dist/` (build first). */
  built: boolean;
  /** The command line after the binary, for the CLI arguments `args`. */
  command(args: string[]): string[];
}

export function findTarget(name: TargetName): Target {
  switch (name) {
    case 'node20':
    case 'node24':
    case 'deno':
    case 'bun': {
      const runtime = findRuntime(name);
      return { name, runtime, built: name.startsWith('node'), command: runtime.command };
    }
    case 'cloud-run':
      return { name, runtime: findRuntime('node20'), built: true, command: (args) => [join(ROOT, 'dist', 'cloud-run-cli.js'), ...args] };
    case 'custom-fetch':
      // Node 24 runs the TypeScript sources as they are (type stripping).
      return { name, runtime: findRuntime('node24-ts'), built: false, command: (args) => [join(ROOT, 'test', 'faults', 'custom-fetch-cli.ts'), ...args] };
  }
}
