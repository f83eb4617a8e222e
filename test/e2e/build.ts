/**
 * Node runs the built `dist/` (what the package publishes): build once when it is missing or
 * older than the sources, so `vitest run --project e2e` works on its own.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './runtimes.ts';

function newestSource(): number {
  let newest = 0;
  for (const dir of ['lib', 'adapters']) {
    for (const file of readdirSync(join(ROOT, dir), { recursive: true }) as string[]) newest = Math.max(newest, statSync(join(ROOT, dir, file)).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return Math.min(...['cli.js', 'cloud-run-cli.js'].map((file) => statSync(join(ROOT, 'dist', file)).mtimeMs));
  } catch {
    return 0;
  }
}

export function ensureBuilt(): void {
  if (builtAt() >= newestSource()) return;
  execFileSync('npx', ['tsup', '--silent'], { cwd: ROOT, stdio: 'inherit', timeout: 120_000 });
}
