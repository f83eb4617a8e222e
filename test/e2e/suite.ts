/**
 * The end-to-end suite, written once and run on every runtime (like srvx's `addTests`): the
 * proxy's CLI runs as a child process under the runtime, in front of real distribution
 * registries, and is checked over HTTP and with skopeo. workerd has no CLI: there the flags
 * become the bindings of the bundled example worker (workerd.ts).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChallenge } from '../integration/harness/cases.ts';
import { MANIFEST_ACCEPT } from '../integration/harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci } from '../integration/harness/skopeo.ts';
import { ensureBuilt } from './build.ts';
import { startProxyProcess, type ProxyProcess } from './proxy-process.ts';
import { findRuntime, MUST_RUN, type Runtime, type RuntimeName } from './runtimes.ts';
import {
  CLIENT_REPO,
  PREFIX,
  SLOW_BLOB,
  SLOW_DIGEST,
  SLOW_HEAD_BYTES,
  startSlowUpstream,
  startUpstreams,
  UPSTREAM_REPO,
  type SlowUpstream,
  type Upstreams,
} from './upstreams.ts';

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(25);
  }
  return check();
}

/** Whether a new TCP connection to `host` is refused (the server stopped listening). */
export function connectionRefused(host: string): Promise<boolean> {
  const url = new URL(`http://${host}`);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** Reads a body to the end, or up to `limit` bytes. */
async function readBytes(reader: ReadableStreamDefaultReader<Uint8Array>, limit = Infinity): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < limit) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
  }
  return Buffer.concat(chunks);
}

/** Content-Length of a streamed body: kept, except where the runtime is known to drop it. */
function expectStreamedLength(runtime: Runtime, response: Response, size: number): void {
  const length = response.headers.get('content-length');
  if (runtime.keepsStreamedContentLength) expect(length).toBe(String(size));
  else expect([null, String(size)]).toContain(length);
}

/** Registers the suite for one runtime. A missing runtime is skipped, except in CI where it fails. */
export function addTests(name: RuntimeName): void {
  const runtime = findRuntime(name);
  describe(`registry-proxy on ${name}`, () => {
    if (!runtime.bin) {
      if (MUST_RUN) {
        it(`${name} is installed (CI=true never skips a runtime)`, () => {
          throw new Error(`${name} is missing: looked for ${runtime.lookedFor}`);
        });
      } else {
        it.skip(`${name} is not installed (looked for ${runtime.lookedFor}); run bash scripts/runtimes.sh`, () => {});
      }
      return;
    }
    defineSuite(runtime);
  });
}

function defineSuite(runtime: Runtime): void {
  let upstreams: Upstreams;
  let slow: SlowUpstream;
  let proxy: ProxyProcess;
  let tokenProxy: ProxyProcess;
  let slowProxy: ProxyProcess;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    if (runtime.name.startsWith('node') && runtime.name !== 'node24-ts') ensureBuilt();
    upstreams = await startUpstreams();
    cleanups.push(() => upstreams.stop());
    slow = await startSlowUpstream();
    cleanups.push(() => slow.stop());
    proxy = await startProxyProcess(runtime, { args: ['--upstream', upstreams.registry.url, '--prefix', PREFIX] });
    cleanups.push(() => proxy.stop());
    tokenProxy = await startProxyProcess(runtime, { args: ['--upstream', upstreams.tokenRegistry.url, '--prefix', PREFIX] });
    cleanups.push(() => tokenProxy.stop());
    slowProxy = await startProxyProcess(runtime, { args: ['--upstream', slow.url, '--log', 'off'] });
    cleanups.push(() => slowProxy.stop());
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('answers /v2/ with 200 and the registry API version', async () => {
    const response = await fetch(`${proxy.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    await response.body?.cancel();
  });

  it('skopeo copy through the proxy: every blob byte for byte', async () => {
    const pulled = await skopeoCopyToOci({ host: proxy.host, repository: CLIENT_REPO });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, upstreams.image)).problems).toEqual([]);
  });

  it('HEAD of a manifest and of a blob keeps Content-Length and Docker-Content-Digest', async () => {
    const { manifest, layers } = upstreams.image;
    const layer = layers[1]!;
    const head = await fetch(`${proxy.url}/v2/${CLIENT_REPO}/manifests/v1`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(manifest.size));
    expect(head.headers.get('docker-content-digest')).toBe(manifest.digest);
    const blob = await fetch(`${proxy.url}/v2/${CLIENT_REPO}/blobs/${layer.digest}`, { method: 'HEAD' });
    expect(blob.status).toBe(200);
    expect(blob.headers.get('content-length')).toBe(String(layer.size));
    expect(blob.headers.get('docker-content-digest')).toBe(layer.digest);
    expect((await blob.arrayBuffer()).byteLength).toBe(0);
  });

  it('GET of a 3 MiB blob streams the exact bytes', async () => {
    const layer = upstreams.image.layers[1]!;
    const response = await fetch(`${proxy.url}/v2/${CLIENT_REPO}/blobs/${layer.digest}`);
    expect(response.status).toBe(200);
    expectStreamedLength(runtime, response, layer.size);
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(layer.digest);
  });

  it('Range on a blob answers 206 with the requested bytes', async () => {
    const layer = upstreams.image.layers[1]!;
    const response = await fetch(`${proxy.url}/v2/${CLIENT_REPO}/blobs/${layer.digest}`, { headers: { range: 'bytes=100-1099' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes 100-1099/${layer.size}`);
    expectStreamedLength(runtime, response, 1000);
    const original = await readFile(layer.path);
    expect(Buffer.from(await response.arrayBuffer()).equals(original.subarray(100, 1100))).toBe(true);
  });

  it('token dance through /_token against a token-auth registry, then skopeo copy', async () => {
    const challenged = await fetch(`${tokenProxy.url}/v2/${CLIENT_REPO}/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(challenged.status).toBe(401);
    await challenged.body?.cancel();
    const { scheme, params } = parseChallenge(challenged.headers.get('www-authenticate'));
    expect(scheme).toBe('Bearer');
    expect(params.realm).toBe(`${tokenProxy.url}/_token`);
    expect(params.scope).toBe(`repository:${CLIENT_REPO}:pull`);

    upstreams.issuer.reset();
    const pulled = await skopeoCopyToOci({ host: tokenProxy.host, repository: CLIENT_REPO });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, upstreams.image)).problems).toEqual([]);
    // The token requests reached the real token server through the proxy, names mapped.
    expect(upstreams.issuer.scopes()).toContain(`repository:${UPSTREAM_REPO}:pull`);
  });

  it('a client disconnect aborts the upstream fetch', async () => {
    const controller = new AbortController();
    const response = await fetch(`${slowProxy.url}${slow.blobPath(30_000)}`, { signal: controller.signal });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    await reader.read();
    const request = slow.requests.at(-1)!;
    controller.abort();
    expect(await until(() => request.closedEarly, 5000), 'upstream connection closed after the client left').toBe(true);
  });

  // Bun.serve closes a connection idle for 10 s by default (checked every few seconds): 15 s
  // catches that; the adapter raises it (see adapters/bun.ts).
  it('a blob whose upstream pauses for 15 s mid-body still arrives whole (no runtime idle cut-off)', { timeout: 60_000 }, async () => {
    const response = await fetch(`${slowProxy.url}${slow.blobPath(15_000)}`);
    expect(response.status).toBe(200);
    const body = await readBytes(response.body!.getReader());
    expect(body.length).toBe(SLOW_BLOB.length);
    expect(sha256(body)).toBe(SLOW_DIGEST);
  });

  it('SIGTERM drains: the in-flight pull completes, new connections are refused, exit code 0', { timeout: 60_000 }, async () => {
    const draining = await startProxyProcess(runtime, { args: ['--upstream', slow.url, '--log', 'off'] });
    cleanups.push(() => draining.stop());
    const response = await fetch(`${draining.url}${slow.blobPath(2000)}`);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const head = await readBytes(reader, SLOW_HEAD_BYTES);
    draining.proc.child.kill('SIGTERM');
    expect(await until(() => connectionRefused(draining.host), 3000), 'new connections refused').toBe(true);
    const rest = await readBytes(reader);
    const body = Buffer.concat([head, rest]);
    expect(body.length).toBe(SLOW_BLOB.length);
    expect(sha256(body)).toBe(SLOW_DIGEST);
    const started = Date.now();
    expect(await draining.proc.exited).toBe(0);
    // Exiting must not wait for the whole drain timeout once the last pull is done.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
}
