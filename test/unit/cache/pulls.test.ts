/**
 * The pull-through cache on the happy paths: what a cold and a warm pull cost upstream, one fill
 * per digest under concurrency, HEAD and Range on hits and misses, manifests kept byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { FsCacheStore } from '../../../adapters/cache/fs-store.ts';
import { createRegistryProxy } from '../../../lib/index.ts';
import { MediaType } from '../../upstreams/index.ts';
import { cachedProxy, pullImage, settle, storedDigests, tempDirectory, upstreamCount } from '../helpers/cache.ts';
import { bytesOf, CONTAINERD_ACCEPT, digestOf, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();

describe('cold and warm pulls', () => {
  it('a warm pull by tag costs one HEAD upstream and no GET, and serves the same bytes', async () => {
    const { registry, proxy, dir } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [300_000, 5000] });

    await pullImage(proxy, 'app', 'v1', image);
    expect(await storedDigests(dir)).toEqual([image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)].sort());
    registry.requests.clear();

    await pullImage(proxy, 'app', 'v1', image);
    expect(registry.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['HEAD /v2/app/manifests/v1']);
  });

  it('with tagFreshness, a warm pull within it asks nothing upstream', async () => {
    const { registry, proxy } = await cachedProxy(server, { cache: { tagFreshness: 3600 } });
    const image = registry.addImage('app', 'v1');
    await pullImage(proxy, 'app', 'v1', image);
    registry.requests.clear();
    await pullImage(proxy, 'app', 'v1', image);
    expect(registry.requests).toEqual([]);
  });

  it('20 concurrent pulls of a cold image make one upstream GET per blob and one manifest GET (what Docker Hub counts)', async () => {
    const { registry, proxy } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [2_000_000, 700_000, 10] });
    // Slow the upstream so every pull arrives while the fills are still running.
    registry.faults.slow('/blobs/', { headersMs: 50, stallAfterBytes: 5, stallMs: 100 });

    await Promise.all(Array.from({ length: 20 }, () => pullImage(proxy, 'app', 'v1', image)));
    for (const blob of [image.config, ...image.layers]) expect(upstreamCount(registry, 'GET', 'blobs', blob.digest)).toBe(1);
    expect(upstreamCount(registry, 'GET', 'manifests')).toBe(1);
  });

  it('the manifest is stored byte for byte with its Content-Type, an index and its children too', async () => {
    const { registry, proxy } = await cachedProxy(server);
    const index = registry.addIndex('multi', 'v1');
    const child = index.children[0]!;
    for (let round = 0; round < 2; round++) {
      const list = await proxy(req('GET /v2/multi/manifests/v1', { headers: { accept: CONTAINERD_ACCEPT } }));
      expect(list.headers.get('content-type')).toBe(MediaType.ociIndex);
      expect(await bytesOf(list)).toEqual(index.manifest.bytes);
      const manifest = await proxy(req(`GET /v2/multi/manifests/${child.manifest.digest}`, { headers: { accept: CONTAINERD_ACCEPT } }));
      expect(manifest.headers.get('content-type')).toBe(child.manifest.mediaType);
      expect(manifest.headers.get('docker-content-digest')).toBe(child.manifest.digest);
      expect(await bytesOf(manifest)).toEqual(child.manifest.bytes);
    }
    expect(upstreamCount(registry, 'GET', 'manifests')).toBe(2);
  });

  it('a tag that moves upstream is followed: the new digest is served and fetched once', async () => {
    const { registry, proxy } = await cachedProxy(server);
    const first = registry.addImage('app', 'latest');
    await pullImage(proxy, 'app', 'latest', first);
    const second = registry.addImage('app', 'latest');
    await pullImage(proxy, 'app', 'latest', second);
    expect(upstreamCount(registry, 'GET', 'manifests', second.manifest.digest)).toBe(1);
    await pullImage(proxy, 'app', 'latest', second);
    expect(upstreamCount(registry, 'GET', 'manifests')).toBe(2);
  });
});

describe('HEAD and Range', () => {
  it('a HEAD on a miss is passed upstream and fills nothing', async () => {
    const { registry, proxy, dir } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1');
    const blob = await proxy(req(`HEAD /v2/app/blobs/${image.layers[0]!.digest}`));
    expect(blob.status).toBe(200);
    expect(blob.headers.get('content-length')).toBe('1024');
    const manifest = await proxy(req('HEAD /v2/app/manifests/v1', { headers: { accept: CONTAINERD_ACCEPT } }));
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    expect(registry.requests.map((r) => r.method)).toEqual(['HEAD', 'HEAD']);
    expect(await storedDigests(dir)).toEqual([]);
  });

  it('a HEAD on a hit is answered locally with Content-Length and Docker-Content-Digest', async () => {
    const { registry, proxy } = await cachedProxy(server, { proxy: { credentials: { username: 'u', password: 'p' } }, upstream: { auth: 'basic' } });
    registry.setCredentials('u', 'p');
    const image = registry.addImage('app', 'v1', { layers: [4000] });
    await pullImage(proxy, 'app', 'v1', image);
    registry.requests.clear();
    const head = await proxy(req(`HEAD /v2/app/blobs/${image.layers[0]!.digest}`));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('4000');
    expect(head.headers.get('docker-content-digest')).toBe(image.layers[0]!.digest);
    expect(head.body).toBeNull();
    expect(registry.requests).toEqual([]);
  });

  it('Range on a hit is served locally: 206 with the right bytes, 416 past the end', async () => {
    const { registry, proxy } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [100_000] });
    const layer = image.layers[0]!;
    await pullImage(proxy, 'app', 'v1', image);
    registry.requests.clear();

    const partial = await proxy(req(`GET /v2/app/blobs/${layer.digest}`, { headers: { range: 'bytes=1000-1999' } }));
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 1000-1999/100000');
    expect(await bytesOf(partial)).toEqual(layer.bytes.subarray(1000, 2000));
    const tail = await proxy(req(`GET /v2/app/blobs/${layer.digest}`, { headers: { range: 'bytes=-10' } }));
    expect(await bytesOf(tail)).toEqual(layer.bytes.subarray(99_990));
    const past = await proxy(req(`GET /v2/app/blobs/${layer.digest}`, { headers: { range: 'bytes=200000-' } }));
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe('bytes */100000');
    // Only the proof of access (the tag's HEAD happened earlier on this route): no blob request upstream.
    expect(registry.requests.filter((r) => r.path.includes('/blobs/'))).toEqual([]);
  });

  it('Range on a miss is served from upstream and starts a fill that later hits use', async () => {
    const { registry, proxy, dir } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [50_000] });
    const layer = image.layers[0]!;
    const partial = await proxy(req(`GET /v2/app/blobs/${layer.digest}`, { headers: { range: 'bytes=10-19' } }));
    expect(partial.status).toBe(206);
    expect(await bytesOf(partial)).toEqual(layer.bytes.subarray(10, 20));
    await settle(async () => (await storedDigests(dir)).includes(layer.digest));
    registry.requests.clear();
    const whole = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    expect(digestOf(await bytesOf(whole))).toBe(layer.digest);
    expect(registry.requests.filter((r) => r.method === 'GET')).toEqual([]);
  });
});

describe('several proxies on one directory', () => {
  it('two proxies sharing a cache directory (as two processes would) pull concurrently and then both hit', async () => {
    const first = await cachedProxy(server);
    const image = first.registry.addImage('app', 'v1', { layers: [500_000, 3000] });
    const second = createRegistryProxy({ upstream: first.registry.origin, cache: { store: new FsCacheStore(first.dir) } });
    await Promise.all([pullImage(first.proxy, 'app', 'v1', image), pullImage(second, 'app', 'v1', image), pullImage(first.proxy, 'app', 'v1', image)]);
    expect(await storedDigests(first.dir)).toHaveLength(4);
    first.registry.requests.clear();
    await pullImage(second, 'app', 'v1', image);
    await pullImage(first.proxy, 'app', 'v1', image);
    expect(first.registry.requests.map((r) => r.method)).toEqual(['HEAD', 'HEAD']);
  });
});

describe('routing', () => {
  it('a cache hit routed by containerd\'s ns says so with OCI-Namespace, like a forwarded answer', async () => {
    const { registry } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1');
    const proxy = createRegistryProxy({
      upstreams: [{ upstream: registry.origin, namespaces: ['registry.example.com'] }],
      cache: { store: new FsCacheStore(await tempDirectory()) },
    });
    for (let round = 0; round < 2; round++) {
      const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}?ns=registry.example.com`));
      expect(response.headers.get('oci-namespace')).toBe('registry.example.com');
      expect(digestOf(await bytesOf(response))).toBe(image.layers[0]!.digest);
    }
    expect(upstreamCount(registry, 'GET', 'blobs')).toBe(1);
  });
});
