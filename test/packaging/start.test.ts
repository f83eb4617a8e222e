/**
 * `npm start` in a clone: the first start builds dist/ without printing the build, a second
 * start with nothing changed does not build again, and a changed source is rebuilt. Runs in a
 * scratch copy of the sources, so the dist/ other suites use is never touched.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cpSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usage } from '../../adapters/cli/flags.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let clone: string;

/** Asynchronous, so a build of a minute does not block the test worker. */
async function npmStart(): Promise<string> {
  const { stdout } = await promisify(execFile)('npm', ['start', '--silent', '--', '--help'], {
    cwd: clone,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return stdout;
}

const builtAt = () => statSync(join(clone, 'dist', 'cli.js')).mtimeMs;

beforeAll(() => {
  clone = mkdtempSync(join(tmpdir(), 'rp-start-'));
  for (const path of ['lib', 'adapters', 'scripts', 'package.json', 'tsconfig.json', 'tsup.config.ts']) cpSync(join(ROOT, path), join(clone, path), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'));
});
afterAll(() => rmSync(clone, { recursive: true, force: true }));

describe('npm start', () => {
  it('builds quietly the first time: only the CLI speaks', async () => {
    expect(await npmStart()).toBe(`${usage()}\n`);
    expect(builtAt()).toBeGreaterThan(0);
  }, 200_000);

  it('does not build again when no source changed', async () => {
    const before = builtAt();
    expect(await npmStart()).toBe(`${usage()}\n`);
    expect(builtAt()).toBe(before);
  }, 200_000);

  it('rebuilds when a source is newer than dist/', async () => {
    const before = builtAt();
    const later = new Date(before + 5_000);
    utimesSync(join(clone, 'lib', 'index.ts'), later, later);
    expect(await npmStart()).toBe(`${usage()}\n`);
    expect(builtAt()).toBeGreaterThan(before);
  }, 200_000);
});
