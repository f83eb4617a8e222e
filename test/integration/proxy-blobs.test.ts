/**
 * Blob transfer through the proxy: HEAD keeps Content-Length and Docker-Content-Digest (fetch
 * and curl -I), Range gives 206 with the right bytes, a 64 MiB layer streams intact, and
 * upstream redirects (blob downloads sent to a "CDN") are passed or followed.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UPSTREAM_REPO } from './harness/cases.ts';
import { KiB, makeImage, MiB, pushImage, type TestImage } from './harness/images.ts';
import { requireCommands, run } from './harness/process.ts';
import { findLeaks, secretForms } from './harness/leaks.ts';
import { expectNoProxyErrors, startCleanedUpProxy, useCleanups } from './harness/lifecycle.ts';
import type { TestProxy } from './harness/proxy.ts';
import { startRecorder, type Recorder } from './harness/recorder.ts';
import { startRegistry, type Registry } from './harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci } from './harness/skopeo.ts';

const PREFIX = 'team/project';
const CLIENT_REPO = 'app';
let image: TestImage;
const cleanups = useCleanups();

async function readSlice(path: string, start: number, length: number): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Streams a response body, returning its sha256 and length without holding it in memory. */
async function hashBody(response: Response): Promise<{ digest: string; length: number }> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    length += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, length };
}

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo', 'curl');
  image = await makeImage({ layers: [64 * MiB, 100 * KiB], seed: 'blobs' });
  cleanups.push(() => image.remove());
});

describe('blobs through the proxy (anonymous upstream, prefix team/project)', () => {
  let registry: Registry;
  let proxy: TestProxy;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    cleanups.push(() => registry.stop());
    await pushImage(image, registry, UPSTREAM_REPO);
    proxy = await startCleanedUpProxy(cleanups, { upstream: registry.url, repositoryPrefix: PREFIX });
  });
  afterAll(() => expectNoProxyErrors(proxy));

  it('HEAD (fetch) keeps Content-Length and Docker-Content-Digest, with no body', async () => {
    for (const blob of [image.layers[0]!, image.layers[1]!, image.config]) {
      const response = await fetch(`${proxy.url}/v2/${CLIENT_REPO}/blobs/${blob.digest}`, { method: 'HEAD' });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-length')).toBe(String(blob.size));
      expect(response.headers.get('docker-content-digest')).toBe(blob.digest);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    }
  });

  it('HEAD (curl -I) keeps Content-Length and Docker-Content-Digest', async () => {
    const blob = image.layers[0]!;
    const result = await run('curl', ['-sS', '-I', '--max-time', '20', `${proxy.url}/v2/${CLIENT_REPO}/blobs/${blob.digest}`], {
      timeoutMs: 30_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const headers = result.stdout.toLowerCase();
    expect(headers).toMatch(/^http\/1\.1 200/);
    expect(headers).toContain(`content-length: ${blob.size}\r\n`);
    expect(headers).toContain(`docker-content-digest: ${blob.digest}\r\n`);
  });

  it('Range requests get 206 with Content-Range and exactly those bytes', async () => {
    const blob = image.layers[0]!;
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 100],
      ['bytes=1048576-2097151', 1048576, 1048576],
      [`bytes=${blob.size - 10}-`, blob.size - 10, 10],
    ];
    for (const [range, start, length] of cases) {
      const response = await fetch(`${proxy.url}/v2/${CLIENT_REPO}/blobs/${blob.digest}`, { headers: { Range: range } });
      expect(response.status, range).toBe(206);
      expect(response.headers.get('content-range'), range).toBe(`bytes ${start}-${start + length - 1}/${blob.size}`);
      expect(response.headers.get('content-length'), range).toBe(String(length));
      const body = Buffer.from(await response.arrayBuffer());
      expect(body.equals(await readSlice(blob.path, start, length)), range).toBe(true);
    }
  });

  it('streams the 64 MiB layer intact (fetch GET)', async () => {
    const blob = image.layers[0]!;
    const response = await fetch(`${proxy.url}/v2/${CLIENT_REPO}/blobs/${blob.digest}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(blob.size));
    expect(response.headers.get('docker-content-digest')).toBe(blob.digest);
    expect(await hashBody(response)).toEqual({ digest: blob.digest, length: blob.size });
  });

  it('skopeo copies the image with the 64 MiB layer byte for byte', async () => {
    const pulled = await skopeoCopyToOci({ host: proxy.host, repository: CLIENT_REPO });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
  });
});

describe('upstream redirects blob downloads to a CDN (htpasswd upstream, proxy holds credentials)', () => {
  let origin: Registry;
  let cdnBackend: Registry;
  let cdn: Recorder;
  let front: Recorder;
  let secrets: string[];
  const small = (): TestImage['layers'][number] => image.layers[1]!;

  beforeAll(async () => {
    origin = await startRegistry({ auth: 'htpasswd', username: 'cdnuser', password: 'cdn-S3cret' });
    cleanups.push(() => origin.stop());
    secrets = secretForms('cdnuser', 'cdn-S3cret');
    await pushImage(image, origin, UPSTREAM_REPO, { creds: origin.creds! });
    // The "CDN": an anonymous registry over the same storage, behind a recorder that notes the
    // headers each download arrives with. The "upstream": the htpasswd registry, except blob
    // GETs, which it answers with 307 to the CDN (a different origin).
    cdnBackend = await startRegistry({ auth: 'none', storageDir: origin.storageDir });
    cleanups.push(() => cdnBackend.stop());
    cdn = await startRecorder(cdnBackend.url);
    cleanups.push(() => cdn.stop());
    front = await startRecorder(origin.url, {
      redirect: (method, path) => (method === 'GET' && /\/blobs\/sha256:[0-9a-f]{64}$/.test(path) ? `${cdn.url}${path}` : undefined),
    });
    cleanups.push(() => front.stop());
  });

  for (const redirects of ['pass', 'follow'] as const) {
    describe(`redirects: ${redirects}`, () => {
      let proxy: TestProxy;
      beforeAll(async () => {
        proxy = await startCleanedUpProxy(cleanups, {
          upstream: front.url,
          repositoryPrefix: PREFIX,
          credentials: { username: 'cdnuser', password: 'cdn-S3cret' },
          redirects,
        });
      });
      afterAll(() => expectNoProxyErrors(proxy));

      it('blob GET', async () => {
        cdn.reset();
        const blob = small();
        const response = await fetch(`${proxy.url}/v2/${CLIENT_REPO}/blobs/${blob.digest}`, { redirect: 'manual' });
        if (redirects === 'pass') {
          expect(response.status).toBe(307);
          expect(response.headers.get('location')).toBe(`${cdn.url}/v2/${UPSTREAM_REPO}/blobs/${blob.digest}`);
          await response.body?.cancel();
          expect(cdn.exchanges).toHaveLength(0);
        } else {
          expect(response.status).toBe(200);
          expect(await hashBody(response)).toEqual({ digest: blob.digest, length: blob.size });
          expect(cdn.exchanges.length).toBeGreaterThan(0);
          // Authorization must not cross to another origin.
          expect(cdn.exchanges.map((e) => e.requestHeaders.authorization ?? null)).toEqual(cdn.exchanges.map(() => null));
        }
      });

      it('skopeo copy byte for byte, no credentials sent to the CDN', async () => {
        cdn.reset();
        const pulled = await skopeoCopyToOci({ host: proxy.host, repository: CLIENT_REPO }, { debug: true });
        cleanups.push(() => pulled.remove());
        expect(pulled.code, describeRun(pulled)).toBe(0);
        expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
        expect(cdn.exchanges.length).toBeGreaterThan(0);
        expect(cdn.exchanges.filter((e) => e.requestHeaders.authorization !== undefined).map((e) => e.path)).toEqual([]);
        expect(findLeaks(pulled.stderr, secrets)).toEqual([]);
      });
    });
  }
});
