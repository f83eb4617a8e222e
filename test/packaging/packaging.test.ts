/**
 * The package as consumers get it: package.json and deno.json export the same subpaths (Hono
 * fails its build when they drift), deno.json maps every npm import to the version package.json
 * pins, the built package passes publint, and a scratch project that installs the packed
 * tarball typechecks an import of every subpath, with no Deno or Bun types leaking.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import tsupConfig from '../../tsup.config.ts';
import { ensureBuilt } from '../e2e/build.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const readJson = (file: string) => JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as Record<string, unknown>;
const pkg = readJson('package.json') as {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
  dependencies: Record<string, string>;
};
const deno = readJson('deno.json') as { exports: Record<string, string>; imports: Record<string, string> };

/** tsup's entries: dist name → source file. */
function tsupEntries(): Record<string, string> {
  const config = Array.isArray(tsupConfig) ? tsupConfig[0] : tsupConfig;
  return (config as { entry: Record<string, string> }).entry;
}

const subpaths = Object.keys(pkg.exports).filter((key) => key !== './package.json');

describe('export maps', () => {
  it('package.json and deno.json export the same subpaths', () => {
    expect(Object.keys(deno.exports).sort()).toEqual([...subpaths].sort());
    expect(subpaths.sort()).toEqual(['.', './bun', './cloud-run', './deno', './node']);
  });

  it('each subpath is built from the source deno.json points at, types first', () => {
    const entries = tsupEntries();
    for (const subpath of subpaths) {
      const target = pkg.exports[subpath] as { types: string; default: string };
      expect(Object.keys(target), subpath).toEqual(['types', 'default']);
      const name = /^\.\/dist\/(.+)\.js$/.exec(target.default)?.[1];
      expect(name, subpath).toBeDefined();
      expect(target.types, subpath).toBe(`./dist/${name}.d.ts`);
      expect(`./${entries[name!]}`, `${subpath}: tsup entry "${name}"`).toBe(deno.exports[subpath]);
    }
  });

  it("deno.json maps every npm package the sources import to package.json's version", () => {
    const imported = new Set<string>();
    for (const dir of ['lib', 'adapters']) {
      for (const file of (readdirSync(join(ROOT, dir), { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'))) {
        for (const match of readFileSync(join(ROOT, dir, file), 'utf8').matchAll(/from '([^'.][^']*)'/g)) {
          if (!match[1]!.startsWith('node:')) imported.add(match[1]!);
        }
      }
    }
    for (const name of imported) {
      expect(pkg.dependencies[name], `${name} is a dependency`).toBeDefined();
      expect(deno.imports[name], `deno.json imports ${name}`).toBe(`npm:${name}@${pkg.dependencies[name]}`);
    }
  });
});

describe('the built package', () => {
  let scratch: string;

  beforeAll(() => {
    ensureBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'rp-consumer-'));
  }, 120_000);
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('passes publint', async () => {
    const { messages } = await publint({ pkgDir: ROOT, strict: true, level: 'warning' });
    expect(messages.map((m) => `${m.type} ${m.code} ${JSON.stringify(m.args)} at ${m.path.join('.')}`)).toEqual([]);
  });

  it('declarations carry no Deno or Bun types', () => {
    for (const file of readdirSync(join(ROOT, 'dist')).filter((f) => f.endsWith('.d.ts'))) {
      // Comments may name Deno.serve; code may not reference a runtime's global types.
      const code = readFileSync(join(ROOT, 'dist', file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
      expect(code, file).not.toMatch(/reference types=|bun-types|@types\/bun|@types\/deno|\bDeno\.|\bBun\.|declare global/);
    }
  });

  it('a scratch project installs the packed tarball and typechecks an import of every subpath', () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', scratch], { cwd: ROOT, encoding: 'utf8' }),
    ) as Array<{ filename: string }>;
    const tarball = join(scratch, packed[0]!.filename);
    writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // Dependencies come from the npm cache that `npm ci` filled; the registry only on a miss.
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], {
      cwd: scratch,
      stdio: 'pipe',
      timeout: 120_000,
    });
    writeFileSync(
      join(scratch, 'index.ts'),
      [
        `import { createRegistryProxy, type RegistryProxyOptions } from '${pkg.name}';`,
        `import { serve as serveNode } from '${pkg.name}/node';`,
        `import { serve as serveDeno } from '${pkg.name}/deno';`,
        `import { serve as serveBun, type BunServeOptions } from '${pkg.name}/bun';`,
        `import { serve as serveCloudRun, metadataCredentials } from '${pkg.name}/cloud-run';`,
        `const options: RegistryProxyOptions = { upstream: 'ghcr.io' };`,
        `const handler: (request: Request) => Promise<Response> = createRegistryProxy(options);`,
        `const bun: BunServeOptions = { ...options, idleTimeout: 255 };`,
        `export const all = [handler, serveNode, serveDeno, serveBun, serveCloudRun, metadataCredentials({}), bun];`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          lib: ['ES2023', 'DOM'],
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        files: ['index.ts'],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', scratch], { cwd: scratch, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  }, 180_000);
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

  it('runs a built Cloud Run entry as a non-root user', () => {
    const cmd = /^CMD \["([^"]+)"\]$/m.exec(dockerfile)?.[1];
    const name = /^dist\/(.+)\.js$/.exec(cmd ?? '')?.[1];
    expect(tsupEntries()[name ?? ''], `tsup builds ${cmd}`).toBe('adapters/cli/cloud-run.ts');
    expect(dockerfile).toMatch(/^USER (?!root\b|0\b)\S+$/m);
  });

  it('copies into the build everything the build needs and .dockerignore keeps it', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim());
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsup.config.ts', 'lib', 'adapters']) {
      expect(dockerfile, path).toMatch(new RegExp(`^COPY .*\\b${path.replace('.', '\\.')}\\b`, 'm'));
      expect(ignored, path).not.toContain(path);
    }
  });
});
