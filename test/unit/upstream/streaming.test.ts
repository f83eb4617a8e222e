/**
 * Streaming and HTTP details: HEAD, Accept negotiation, Range, which request headers reach the
 * upstream, client aborts reaching the upstream fetch, and large blobs relayed chunk by chunk.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { createRegistryProxy } from '../../../lib/index.ts';
import { distribution, MediaType } from '../../upstreams/index.ts';
import { bytesOf, CONTAINERD_ACCEPT, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();

function anonymousRegistry(options: Parameters<typeof createRegistryProxy>[0] = {}) {
  const registry = distribution({ auth: 'anonymous' });
  server.use(...registry.handlers);
  const proxy = createRegistryProxy({ upstream: registry.origin, ...options });
  return { registry, proxy };
}

/** Wraps the global (msw-patched) fetch, remembering the signal of every upstream request. */
function signalRecordingFetch() {
  const signals: AbortSignal[] = [];
  const fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    if (init?.signal) signals.push(init.signal);
    return globalThis.fetch(input, init);
  }) as typeof globalThis.fetch;
  return { signals, fetch };
}

describe('HEAD', () => {
  it('manifests and blobs keep the upstream Content-Length, Content-Type and Docker-Content-Digest, with no body', async () => {
    const { registry, proxy } = anonymousRegistry();
    const image = registry.addImage('app', 'v1', { layers: [5000] });

    const manifest = await proxy(req('HEAD /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest } }));
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('content-length')).toBe(String(image.manifest.bytes.byteLength));
    expect(manifest.headers.get('content-type')).toBe(MediaType.ociManifest);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    expect(manifest.body).toBeNull();

    const blob = await proxy(req(`HEAD /v2/app/blobs/${image.layers[0]!.digest}`));
    expect(blob.status).toBe(200);
    expect(blob.headers.get('content-length')).toBe('5000');
    expect(blob.headers.get('content-type')).toBe('application/octet-stream');
    expect(blob.headers.get('docker-content-digest')).toBe(image.layers[0]!.digest);
    expect(blob.body).toBeNull();

    expect(registry.requests.map((r) => r.method)).toEqual(['HEAD', 'HEAD']);
  });

  it('a HEAD for a missing manifest is a bodiless 404', async () => {
    const { registry, proxy } = anonymousRegistry();
    registry.addImage('app', 'v1');
    const response = await proxy(req('HEAD /v2/app/manifests/v2'));
    expect(response.status).toBe(404);
    expect(response.body).toBeNull();
  });
});

describe('Accept, Range, conditional requests', () => {
  it('forwards Accept unchanged: an OCI index is served only when the client accepts it', async () => {
    const { registry, proxy } = anonymousRegistry();
    const index = registry.addIndex('app', 'multi');

    const refused = await proxy(req('GET /v2/app/manifests/multi', { headers: { accept: `${MediaType.ociManifest}, ${MediaType.dockerManifest}` } }));
    expect(refused.status).toBe(404);
    expect(await refused.text()).toBe(
      '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"OCI index found, but accept header does not support OCI indexes"}]}\n',
    );

    const served = await proxy(req('GET /v2/app/manifests/multi', { headers: { accept: CONTAINERD_ACCEPT } }));
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe(MediaType.ociIndex);
    expect(served.headers.get('docker-content-digest')).toBe(index.manifest.digest);
    expect(await bytesOf(served)).toEqual(index.manifest.bytes);

    expect(registry.requests.map((r) => r.headers.accept)).toEqual([`${MediaType.ociManifest}, ${MediaType.dockerManifest}`, CONTAINERD_ACCEPT]);
  });

  it('repeated Accept lines (containers/image) reach the upstream as one combined value', async () => {
    const { registry, proxy } = anonymousRegistry();
    const index = registry.addIndex('app', 'multi');
    const headers = new Headers();
    for (const type of [MediaType.ociManifest, MediaType.dockerManifest, MediaType.dockerList, MediaType.ociIndex]) headers.append('accept', type);
    const response = await proxy(req('GET /v2/app/manifests/multi', { headers }));
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(index.manifest.digest);
    expect(registry.requests[0]!.headers.accept).toBe(
      `${MediaType.ociManifest}, ${MediaType.dockerManifest}, ${MediaType.dockerList}, ${MediaType.ociIndex}`,
    );
  });

  it('Range → 206 with Content-Range and exactly those bytes; past the end → 416', async () => {
    const { registry, proxy } = anonymousRegistry();
    const image = registry.addImage('app', 'v1', { layers: [10_000] });
    const layer = image.layers[0]!;
    const partial = await proxy(req(`GET /v2/app/blobs/${layer.digest}`, { headers: { range: 'bytes=9000-' } }));
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 9000-9999/10000');
    expect(partial.headers.get('content-length')).toBe('1000');
    expect(await bytesOf(partial)).toEqual(layer.bytes.subarray(9000));
    expect(registry.requests[0]!.headers.range).toBe('bytes=9000-');

    const beyond = await proxy(req(`GET /v2/app/blobs/${layer.digest}`, { headers: { range: 'bytes=20000-' } }));
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe('bytes */10000');
  });

  it('If-None-Match passes, and a 304 comes back without a body', async () => {
    const { registry, proxy } = anonymousRegistry();
    const image = registry.addImage('app', 'v1');
    const response = await proxy(
      req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest, 'if-none-match': `"${image.manifest.digest}"` } }),
    );
    expect(response.status).toBe(304);
    expect(response.body).toBeNull();
    expect(registry.requests[0]!.headers['if-none-match']).toBe(`"${image.manifest.digest}"`);
  });
});

describe('request headers sent upstream', () => {
  it('asks for identity encoding and never forwards Cookie, Host, X-Forwarded-*, Forwarded, Via', async () => {
    const { registry, proxy } = anonymousRegistry();
    const image = registry.addImage('app', 'v1');
    const response = await proxy(
      req('GET /v2/app/manifests/v1', {
        headers: {
          accept: MediaType.ociManifest,
          'accept-encoding': 'gzip, deflate, br',
          'user-agent': 'containerd/2.1.0',
          cookie: 'session=secret',
          host: 'proxy.test',
          'x-forwarded-for': '198.51.100.7',
          'x-forwarded-host': 'proxy.test',
          'x-forwarded-proto': 'https',
          'x-real-ip': '198.51.100.7',
          forwarded: 'for=198.51.100.7',
          via: '1.1 edge',
        },
      }),
    );
    expect(response.status).toBe(200);
    expect(await bytesOf(response)).toEqual(image.manifest.bytes);
    expect(registry.requests[0]!.headers).toEqual({
      accept: MediaType.ociManifest,
      'accept-encoding': 'identity',
      'user-agent': 'containerd/2.1.0',
    });
  });
});

describe('client aborts', () => {
  it('aborting while the upstream has not answered aborts the upstream fetch', async () => {
    const upstream = signalRecordingFetch();
    const onError = vi.fn();
    const { registry, proxy } = anonymousRegistry({ fetch: upstream.fetch, onError });
    registry.addImage('app', 'v1');
    registry.faults.slow('/manifests/', { headersMs: 5000 });
    const controller = new AbortController();
    const pending = proxy(req('GET /v2/app/manifests/v1', { signal: controller.signal }));
    await vi.waitFor(() => expect(upstream.signals).toHaveLength(1));
    expect(upstream.signals[0]!.aborted).toBe(false);
    const started = Date.now();
    controller.abort();
    await pending;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(upstream.signals[0]!.aborted).toBe(true);
    expect(onError).not.toHaveBeenCalled();
  });

  it('aborting mid-body aborts the signal of the upstream fetch', async () => {
    const upstream = signalRecordingFetch();
    const { registry, proxy } = anonymousRegistry({ fetch: upstream.fetch });
    const image = registry.addImage('app', 'v1', { layers: [4096] });
    registry.faults.slow('/blobs/', { stallAfterBytes: 100, stallMs: 2000 });
    const controller = new AbortController();
    const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`, { signal: controller.signal }));
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.value?.byteLength).toBe(100);
    expect(upstream.signals[0]!.aborted).toBe(false);
    controller.abort();
    expect(upstream.signals[0]!.aborted).toBe(true);
    // (Not cancelling the body here: msw's mocked body only settles a cancel once its stall ends.)
  });

  it('cancelling the client body (what a server adapter does on disconnect) cancels the upstream body', async () => {
    const cancelled = vi.fn();
    const fetch = (async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(100));
          },
          cancel: cancelled,
        }),
        { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': '4096' } },
      )) as typeof globalThis.fetch;
    const proxy = createRegistryProxy({ upstream: 'https://registry.example.com', fetch });
    const response = await proxy(req(`GET /v2/app/blobs/sha256:${'2'.repeat(64)}`));
    const reader = response.body!.getReader();
    expect((await reader.read()).value?.byteLength).toBe(100);
    await reader.cancel(new Error('client went away'));
    expect(cancelled).toHaveBeenCalledTimes(1);
  });
});

describe('large blobs', () => {
  it('a 32 MiB blob streams through: read incrementally, exact size and digest', async () => {
    const { registry, proxy } = anonymousRegistry();
    const size = 32 * 1024 * 1024;
    const image = registry.addImage('app', 'big', { layers: [size] });
    const layer = image.layers[0]!;
    const response = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(size));
    const hash = createHash('sha256');
    let received = 0;
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      received += value.byteLength;
    }
    expect(received).toBe(size);
    expect(`sha256:${hash.digest('hex')}`).toBe(layer.digest);
  });

  it('relays chunk by chunk without reading ahead: the upstream is pulled only as the client reads', async () => {
    const chunk = 64 * 1024;
    const chunks = 512; // 32 MiB
    let produced = 0;
    const hash = createHash('sha256');
    const fetch = (async () =>
      new Response(
        new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              if (produced === chunks) return controller.close();
              const bytes = new Uint8Array(chunk).fill(produced % 251);
              hash.update(bytes);
              produced++;
              controller.enqueue(bytes);
            },
          },
          { highWaterMark: 0 },
        ),
        { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(chunk * chunks) } },
      )) as typeof globalThis.fetch;
    const proxy = createRegistryProxy({ upstream: 'https://registry.example.com', fetch });
    const response = await proxy(req(`GET /v2/app/blobs/sha256:${'1'.repeat(64)}`));
    const reader = response.body!.getReader();
    const clientHash = createHash('sha256');
    let reads = 0;
    let maxAhead = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      maxAhead = Math.max(maxAhead, produced - reads);
      clientHash.update(value);
    }
    expect(reads).toBe(chunks);
    expect(maxAhead).toBeLessThanOrEqual(2);
    expect(clientHash.digest('hex')).toBe(hash.digest('hex'));
  });
});
