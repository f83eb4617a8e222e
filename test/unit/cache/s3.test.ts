/**
 * The cache on the S3 store (a real s3rver): a store that cannot read back an upload in
 * progress still gives concurrent pulls one upstream GET per blob and intact bytes, and
 * `redirect: true` answers blob hits with a presigned URL the client can follow.
 */
import { describe, expect, it } from 'vitest';
import { S3CacheStore } from '../../../lib/cache/s3-store.ts';
import { createRegistryProxy } from '../../../lib/index.ts';
import { distribution } from '../../upstreams/index.ts';
import { pullImage, upstreamCount, useS3rver } from '../helpers/cache.ts';
import { bytesOf, digestOf, req, useUpstreams } from '../helpers/single-upstream.ts';

// Captured before msw patches fetch: S3 traffic goes to the real server untouched (msw's
// passthrough stalls on request bodies).
const realFetch = globalThis.fetch;
const server = useUpstreams();
const s3 = useS3rver();


function setup(prefix: string, redirect = false) {
  const registry = distribution({ auth: 'anonymous' });
  server.use(...registry.handlers);
  const store = new S3CacheStore({ bucket: 'cache', prefix, endpoint: s3.endpoint, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', partSize: 5 * 1024 * 1024, fetch: realFetch });
  const proxy = createRegistryProxy({ upstream: registry.origin, cache: { store, redirect } });
  return { registry, proxy };
}

describe('cache on the S3 store', () => {
  it('10 concurrent cold pulls: one GET per blob upstream, every byte intact; the warm pull costs one HEAD', async () => {
    const { registry, proxy } = setup('concurrent/');
    const image = registry.addImage('app', 'v1', { layers: [7 * 1024 * 1024, 20_000] });
    registry.faults.slow('/blobs/', { stallAfterBytes: 1000, stallMs: 100 });
    await Promise.all(Array.from({ length: 10 }, () => pullImage(proxy, 'app', 'v1', image)));
    for (const blob of [image.config, ...image.layers]) expect(upstreamCount(registry, 'GET', 'blobs', blob.digest)).toBe(1);
    registry.requests.clear();
    registry.faults.reset();
    await pullImage(proxy, 'app', 'v1', image);
    expect(registry.requests.map((r) => r.method)).toEqual(['HEAD']);
  }, 60_000);

  it('redirect: true answers a blob hit with a presigned URL to the bytes', async () => {
    const { registry, proxy } = setup('redirect/', true);
    const image = registry.addImage('app', 'v1', { layers: [3000] });
    const layer = image.layers[0]!;
    expect(digestOf(await bytesOf(await proxy(req(`GET /v2/app/blobs/${layer.digest}`))))).toBe(layer.digest);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const hit = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    expect(hit.status).toBe(307);
    const location = hit.headers.get('location')!;
    expect(location).toMatch(/X-Amz-Signature=/);
    expect(digestOf(await bytesOf(await realFetch(location)))).toBe(layer.digest);
  });
});
