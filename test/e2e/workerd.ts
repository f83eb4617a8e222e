/**
 * Cloudflare's workerd as an e2e runtime: the worker is bundled as docs/workers.md says (the
 * esbuild that tsup brings, code splitting so optional parts stay in chunks of their own), a
 * capnp config is generated next to it (globalOutbound allowing loopback only, the port picked
 * by workerd and read from its control fd), and `workerd serve` runs it as a child process.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { onProcessExit, spawnTracked } from '../integration/harness/process.ts';
import type { ProxyProcess } from './proxy-process.ts';
import { ROOT, type Runtime } from './runtimes.ts';

/** The bundle command of docs/workers.md, less the entry and output folder. */
export const BUNDLE_FLAGS = ['--bundle', '--splitting', '--minify', '--platform=neutral', '--format=esm', '--conditions=workerd,worker,browser'];

export interface WorkerBundle {
  dir: string;
  /** Module name (file name in `dir`) of the entry. */
  entry: string;
  /** Every module esbuild wrote, with its size in bytes. */
  sizes: Map<string, number>;
  /** The entry and the modules it imports statically: all a worker loads before `import()`. */
  startModules: string[];
  /** Source files (relative to the repo) whose code is in each module. */
  inputs: Map<string, string[]>;
}

interface Metafile {
  outputs: Record<string, { entryPoint?: string; imports: Array<{ path: string; kind: string }>; inputs: Record<string, unknown> }>;
}

const bundles = new Map<string, WorkerBundle>();

/** Bundles `entry` (relative to the repo) once per test process. */
export function bundleWorker(entry: string, extraFlags: string[] = []): WorkerBundle {
  const key = [entry, ...extraFlags].join(' ');
  const cached = bundles.get(key);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'registry-proxy-worker-'));
  onProcessExit(() => rmSync(dir, { recursive: true, force: true }));
  const metafile = join(dir, 'meta.json');
  execFileSync(join(ROOT, 'node_modules', '.bin', 'esbuild'), [entry, ...BUNDLE_FLAGS, ...extraFlags, `--outdir=${dir}/out`, `--metafile=${metafile}`, '--log-level=warning'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 60_000,
  });
  const meta = JSON.parse(readFileSync(metafile, 'utf8')) as Metafile;
  const outputs = new Map(Object.entries(meta.outputs).map(([path, output]) => [resolve(ROOT, path), output]));
  const entryPath = [...outputs].find(([, output]) => output.entryPoint !== undefined)![0];
  const start = new Set<string>();
  const visit = (path: string): void => {
    if (start.has(path)) return;
    start.add(path);
    for (const imported of outputs.get(path)?.imports ?? []) {
      if (imported.kind === 'import-statement') visit(resolve(ROOT, imported.path));
    }
  };
  visit(entryPath);
  const bundle: WorkerBundle = {
    dir: join(dir, 'out'),
    entry: basename(entryPath),
    sizes: new Map([...outputs.keys()].filter((path) => path.endsWith('.js')).map((path) => [basename(path), statSync(path).size])),
    startModules: [...start].map((path) => basename(path)),
    inputs: new Map([...outputs].map(([path, output]) => [basename(path), Object.keys(output.inputs).map((input) => relative(ROOT, resolve(ROOT, input)))])),
  };
  bundles.set(key, bundle);
  return bundle;
}

/** The compatibility date workerd itself reports (`workerd 2026-11-17`): the newest it knows. */
function compatibilityDate(bin: string): string {
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return /\d{4}-\d{2}-\d{2}/.exec(version)![0];
}

export interface WorkerdOptions {
  /** Text bindings (`env.NAME`). */
  bindings: Record<string, string>;
  /** Which modules to load: only those the entry imports statically (default), or every chunk. */
  modules?: 'start' | 'all';
  /** @default 30000 */
  timeoutMs?: number;
}

export interface WorkerdProcess extends ProxyProcess {
  /** Where the generated config and modules are. */
  configPath: string;
}

/** Writes the capnp config for `bundle` and starts `workerd serve` on a port workerd picks. */
export async function startWorkerd(runtime: Runtime, bundle: WorkerBundle, options: WorkerdOptions): Promise<WorkerdProcess> {
  if (!runtime.bin) throw new Error(`workerd is not installed: looked for ${runtime.lookedFor}`);
  const modules = options.modules === 'all' ? [...bundle.sizes.keys()] : bundle.startModules;
  // The entry comes first: workerd takes the first module as the worker's main module.
  const ordered = [bundle.entry, ...modules.filter((name) => name !== bundle.entry)];
  const configPath = join(bundle.dir, `config-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.capnp`);
  const text = JSON.stringify;
  writeFileSync(
    configPath,
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "proxy", worker = .worker),
    # Outbound fetches may reach loopback only: the upstreams the tests start.
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "proxy") ],
);

const worker :Workerd.Worker = (
  modules = [
${ordered.map((name) => `    (name = ${text(name)}, esModule = embed ${text(name)}),`).join('\n')}
  ],
  compatibilityDate = ${text(compatibilityDate(runtime.bin))},
  bindings = [
${Object.entries(options.bindings)
  .map(([name, value]) => `    (name = ${text(name)}, text = ${text(value)}),`)
  .join('\n')}
  ],
  globalOutbound = "loopback",
);
`,
  );
  const proc = spawnTracked(runtime.bin, ['serve', configPath, '--control-fd=3'], { extraPipes: 1 });
  const control = proc.child.stdio[3] as Readable;
  let controlText = '';
  control.on('data', (chunk: Buffer) => (controlText += chunk.toString('utf8')));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    // {"event":"listen","socket":"http","port":43497}
    const port = /"event":"listen","socket":"http","port":(\d+)/.exec(controlText)?.[1];
    if (port) {
      const url = `http://127.0.0.1:${port}`;
      return { url, host: `127.0.0.1:${port}`, proc, configPath, stop: () => proc.stop(5000) };
    }
    if (proc.child.exitCode !== null || proc.child.signalCode !== null || Date.now() > deadline) {
      await proc.stop(1000);
      throw new Error(`workerd did not start (${configPath}):\n${proc.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The suite's CLI arguments as the example worker's bindings: `--upstream` is `UPSTREAM`,
 * `--prefix` is `REPO_PREFIX`; `--log off` is what a worker does anyway.
 */
export function startExampleWorker(runtime: Runtime, args: string[]): Promise<WorkerdProcess> {
  const bindings: Record<string, string> = {};
  for (let index = 0; index < args.length; index += 2) {
    const [flag, value] = [args[index], args[index + 1]];
    if (flag === '--upstream') bindings.UPSTREAM = value!;
    else if (flag === '--prefix') bindings.REPO_PREFIX = value!;
    else if (!(flag === '--log' && value === 'off')) throw new Error(`the example worker has no binding for ${flag}`);
  }
  return startWorkerd(runtime, bundleWorker('examples/cloudflare-worker.ts'), { bindings });
}
