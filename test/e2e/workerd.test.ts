/**
 * The end-to-end suite on workerd (see suite.ts and workerd.ts), then what is particular to
 * Cloudflare Workers: the bundle (optional parts in chunks of their own), the Content-Length of
 * streamed bodies, a proxy with `auth` created at module top level, PBKDF2 hashes and the
 * Workers iteration limit, and upstream faults through workerd's own networking.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../lib/index.ts';
import { KiB, makeImage, pushImage, type TestImage } from '../integration/harness/images.ts';
import { MANIFEST_ACCEPT, startRegistry, type Registry } from '../integration/harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci } from '../integration/harness/skopeo.ts';
import { ensureBuilt } from './build.ts';
import { findRuntime, MUST_RUN, ROOT } from './runtimes.ts';
import { addTests } from './suite.ts';
import { bundleWorker, startWorkerd, type WorkerdOptions, type WorkerdProcess } from './workerd.ts';
import { FAULT_BLOB, FAULT_DIGEST, ODD_STATUSES, startFaultUpstream, type FaultUpstream } from './workerd/fault-upstream.ts';

addTests('workerd');

const runtime = findRuntime('workerd');
const TOP_LEVEL_WORKER = 'test/e2e/workerd/top-level-worker.ts';

/** `registry-proxy hash-password --iterations N`, run as a user would (the built CLI on Node). */
function hashWithCli(password: string, iterations: number): string {
  return execFileSync(process.execPath, [`${ROOT}/dist/cli.js`, 'hash-password', '--iterations', String(iterations)], {
    input: `${password}\n`,
    encoding: 'utf8',
    timeout: 30_000,
  }).trim();
}

/** Reads a body to its end; resolves with the bytes, or the error that ended the transfer. */
async function readAll(response: Response): Promise<{ bytes: number; error?: unknown }> {
  const reader = response.body!.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes };
      bytes += value.byteLength;
    }
  } catch (error) {
    return { bytes, error };
  }
}

describe('Cloudflare Workers specifics on workerd', () => {
  if (!runtime.bin) {
    if (MUST_RUN) it('workerd is installed (CI=true never skips a runtime)', () => expect.fail(`workerd is missing: looked for ${runtime.lookedFor}`));
    else it.skip('workerd is not installed; run bash scripts/runtimes.sh', () => {});
    return;
  }

  let registry: Registry;
  let image: TestImage;
  let faults: FaultUpstream;
  const cleanups: Array<() => Promise<void>> = [];

  async function startTopLevel(bindings: WorkerdOptions['bindings']): Promise<WorkerdProcess> {
    const worker = await startWorkerd(runtime, bundleWorker(TOP_LEVEL_WORKER, ['--external:cloudflare:*']), { bindings, modules: 'all' });
    cleanups.push(() => worker.stop());
    return worker;
  }

  beforeAll(async () => {
    ensureBuilt(); // hash-password runs the built CLI
    registry = await startRegistry({ auth: 'none' });
    cleanups.push(() => registry.stop());
    image = await makeImage({ layers: [128 * KiB], seed: 'workerd' });
    cleanups.push(() => image.remove());
    await pushImage(image, registry, 'app');
    faults = await startFaultUpstream();
    cleanups.push(() => faults.stop());
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('the bundle: what a worker loads at start holds no jose; token code is a chunk loaded on first use', () => {
    const bundle = bundleWorker('examples/cloudflare-worker.ts');
    const startInputs = bundle.startModules.flatMap((name) => bundle.inputs.get(name) ?? []);
    expect(startInputs.filter((input) => input.includes('node_modules/jose'))).toEqual([]);
    expect(startInputs).toContain('lib/handler.ts');
    const lazy = [...bundle.sizes.keys()].filter((name) => !bundle.startModules.includes(name));
    expect(lazy.flatMap((name) => bundle.inputs.get(name) ?? []).some((input) => input.includes('node_modules/jose'))).toBe(true);
    // The suite above served every pull with the start modules alone: jose is not even in its config.
  });

  it('streamed GETs of /v2/, a manifest and a blob carry Content-Length (FixedLengthStream)', async () => {
    const worker = await startTopLevel({ UPSTREAM: registry.url });
    const ping = await fetch(`${worker.url}/v2/`);
    expect(ping.status).toBe(200);
    expect(ping.headers.get('content-length')).toBe(String((await ping.arrayBuffer()).byteLength));
    const manifest = await fetch(`${worker.url}/v2/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(manifest.headers.get('content-length')).toBe(String(image.manifest.size));
    await manifest.arrayBuffer();
    const layer = image.layers[0]!;
    const blob = await fetch(`${worker.url}/v2/app/blobs/${layer.digest}`);
    expect(blob.headers.get('content-length')).toBe(String(layer.size));
    expect(blob.headers.get('transfer-encoding')).toBeNull();
    expect((await blob.arrayBuffer()).byteLength).toBe(layer.size);
  });

  it('auth without tokenSecret, created at top level: the worker starts, asks anonymous clients to log in, and skopeo pulls with a password hashed by `hash-password --iterations 100000`', async () => {
    const passwordHash = hashWithCli('alice-pw', 100_000);
    expect(passwordHash).toMatch(/^pbkdf2-sha256\$100000\$/);
    const worker = await startTopLevel({ UPSTREAM: registry.url, AUTH_USERS: JSON.stringify({ alice: { passwordHash } }) });
    const anonymous = await fetch(`${worker.url}/v2/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain(`realm="${worker.url}/_token"`);
    await anonymous.body?.cancel();

    const wrong = await skopeoCopyToOci({ host: worker.host, repository: 'app' }, { creds: 'alice:wrong' });
    cleanups.push(() => wrong.remove());
    expect(wrong.code).not.toBe(0);
    const pulled = await skopeoCopyToOci({ host: worker.host, repository: 'app' }, { creds: 'alice:alice-pw' });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
  });

  it('a hash above the Workers limit (210,000 iterations) stops the worker at start, naming the user', async () => {
    const passwordHash = hashWithCli('bob-pw', 210_000);
    const users = JSON.stringify({ bob: { passwordHash } });
    const started = startWorkerd(runtime, bundleWorker(TOP_LEVEL_WORKER, ['--external:cloudflare:*']), {
      bindings: { UPSTREAM: registry.url, AUTH_USERS: users },
      modules: 'all',
    });
    await expect(started).rejects.toThrow(/auth\.users\.bob\.passwordHash.*210000 PBKDF2 iterations; Cloudflare Workers derive at most 100000/);
  });

  describe('upstream faults through workerd', () => {
    let worker: WorkerdProcess;
    beforeAll(async () => {
      worker = await startTopLevel({ UPSTREAM: faults.url, IDLE_TIMEOUT: '2000', HEADERS_TIMEOUT: '1000' });
    });

    it.each(['reset', 'short'])('a body the upstream cuts short (%s) fails the client transfer; it never ends cleanly', async (fault) => {
      const response = await fetch(`${worker.url}/v2/${fault}/blobs/${FAULT_DIGEST}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(FAULT_BLOB.length));
      const { bytes, error } = await readAll(response);
      expect(error, `${bytes} bytes then a clean end`).toBeDefined();
      expect(bytes).toBeLessThan(FAULT_BLOB.length);
    });

    it('an upstream that stalls mid-body is cut after timeouts.idle (not hung), and its connection closed', { timeout: 30_000 }, async () => {
      const started = Date.now();
      const response = await fetch(`${worker.url}/v2/stall/blobs/${FAULT_DIGEST}`);
      const { bytes, error } = await readAll(response);
      expect(error).toBeDefined();
      expect(bytes).toBeLessThan(FAULT_BLOB.length);
      expect(Date.now() - started).toBeLessThan(15_000);
      const path = `/v2/stall/blobs/${FAULT_DIGEST}`;
      const deadline = Date.now() + 5000;
      while (!faults.closedEarly.includes(path) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(faults.closedEarly).toContain(path);
    });

    it('slow response headers answer 504 UPSTREAM_TIMEOUT after timeouts.headers', async () => {
      const response = await fetch(`${worker.url}/v2/slow-headers/blobs/${FAULT_DIGEST}`);
      expect(response.status).toBe(504);
      const body = (await response.json()) as { errors: Array<{ code: string }> };
      expect(body.errors[0]!.code).toBe('UPSTREAM_TIMEOUT');
    });

    it.each(Object.keys(ODD_STATUSES).map(Number))('upstream status %i answers as the same handler does on Node', async (status) => {
      const path = `/v2/status-${status}/manifests/v1`;
      const headers = { accept: MANIFEST_ACCEPT };
      const onNode = await createRegistryProxy({ upstream: faults.url })(new Request(`${worker.url}${path}`, { headers }));
      const onWorkerd = await fetch(`${worker.url}${path}`, { headers });
      const summary = async (response: Response) => ({
        status: response.status,
        type: response.headers.get('content-type'),
        retryAfter: response.headers.get('retry-after'),
        body: await response.text(),
      });
      const expected = await summary(onNode);
      expect(expected.status).toBe(status);
      expect(await summary(onWorkerd)).toEqual(expected);
    });
  });
});
