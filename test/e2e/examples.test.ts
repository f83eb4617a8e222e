/**
 * Every example in examples/ runs as it is and serves a pull: the server ones are started as
 * child processes (Node, Deno, Bun, Cloud Run) and pulled from with skopeo; the ones that are a
 * fetch handler (Hono, itty-router, a Workers module worker) answer a manifest GET when called.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KiB, makeImage, pushImage, type TestImage } from '../integration/harness/images.ts';
import { freePort } from '../integration/harness/process.ts';
import { MANIFEST_ACCEPT, startRegistry, type Registry } from '../integration/harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci } from '../integration/harness/skopeo.ts';
import { ensureBuilt } from './build.ts';
import { startProxyProcess } from './proxy-process.ts';
import { findRuntime, MUST_RUN, ROOT, type RuntimeName } from './runtimes.ts';

let registry: Registry;
let image: TestImage;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  ensureBuilt(); // node.mjs and cloud-run.mjs import the package by name, i.e. dist/
  registry = await startRegistry({ auth: 'none' });
  cleanups.push(() => registry.stop());
  image = await makeImage({ layers: [128 * KiB], seed: 'examples' });
  cleanups.push(() => image.remove());
  await pushImage(image, registry, 'app');
  // The handler examples read UPSTREAM when they are imported.
  process.env.UPSTREAM = registry.url;
});

afterAll(async () => {
  delete process.env.UPSTREAM;
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

const SERVER_EXAMPLES: Array<{ file: string; runtime: RuntimeName; args: (file: string) => string[] }> = [
  { file: 'node.mjs', runtime: 'node20', args: (file) => [file] },
  { file: 'cloud-run.mjs', runtime: 'node20', args: (file) => [file] },
  { file: 'deno.ts', runtime: 'deno', args: (file) => ['run', '-A', '--config', `${ROOT}/deno.json`, file] },
  { file: 'bun.ts', runtime: 'bun', args: (file) => [file] },
];

describe.each(SERVER_EXAMPLES)('examples/$file', ({ file, runtime: name, args }) => {
  const runtime = findRuntime(name);
  if (!runtime.bin) {
    if (MUST_RUN) it(`${name} is installed`, () => expect.fail(`${name} is missing: looked for ${runtime.lookedFor}`));
    else it.skip(`${name} is not installed (bash scripts/runtimes.sh)`, () => {});
    return;
  }

  it('starts and serves a skopeo pull', async () => {
    const port = await freePort();
    const proxy = await startProxyProcess(runtime, {
      script: args(`${ROOT}/examples/${file}`),
      args: [],
      // GCE_METADATA_HOST: a closed local port, so the Cloud Run example's project-id lookup
      // stays on this machine (it fails quietly, as it does off GCP).
      env: { PORT: String(port), UPSTREAM: registry.url, GCE_METADATA_HOST: '127.0.0.1:9' },
    });
    cleanups.push(() => proxy.stop());
    expect(proxy.url).toBe(`http://127.0.0.1:${port}`);
    const pulled = await skopeoCopyToOci({ host: proxy.host, repository: 'app' });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
    await proxy.stop();
    expect(await proxy.proc.exited).toBe(0);
  });
});

type Fetcher = (request: Request) => Promise<Response> | Response;

const HANDLER_EXAMPLES: Array<{ file: string; load: () => Promise<Fetcher> }> = [
  { file: 'hono.ts', load: async () => ((await import('../../examples/hono.ts')).default as { fetch: Fetcher }).fetch },
  {
    file: 'itty-router.ts',
    load: async () => {
      const router = (await import('../../examples/itty-router.ts')).default;
      return (request) => router.fetch(request);
    },
  },
  {
    file: 'cloudflare-worker.ts',
    load: async () => {
      const worker = (await import('../../examples/cloudflare-worker.ts')).default;
      return (request) => worker.fetch(request, { UPSTREAM: registry.url });
    },
  },
];

describe.each(HANDLER_EXAMPLES)('examples/$file', ({ file, load }) => {
  it('answers a manifest GET and HEAD from the registry', async () => {
    const fetcher = await load();
    for (const method of ['GET', 'HEAD']) {
      const response = await fetcher(
        new Request('http://images.example.test/v2/app/manifests/v1', { method, headers: { accept: MANIFEST_ACCEPT } }),
      );
      expect(response.status, `${file} ${method}`).toBe(200);
      expect(response.headers.get('docker-content-digest')).toBe(image.manifestDigest);
      if (method === 'GET') expect(await response.text()).toBe(await readFile(image.manifest.path, 'utf8'));
    }
  });

  if (file !== 'cloudflare-worker.ts') {
    it("keeps the app's own routes", async () => {
      const response = await (await load())(new Request('http://images.example.test/'));
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/^My site/);
    });
  }
});
