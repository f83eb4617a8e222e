/**
 * The cache when things go wrong: upstream faults never publish an entry nor hand a client a
 * short blob; a client abort ends a fill only when nobody else reads it; an upstream outage is
 * ridden out from the cache; content never leaks across repositories or past the upstream's
 * refusal; eviction holds maxSize; a broken store degrades to pass-through.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsCacheStore } from '../../../adapters/cache/fs-store.ts';
import { createRegistryProxy } from '../../../lib/index.ts';
import type { CacheStore } from '../../../lib/options/types.ts';
import { hashPassword } from '../../../lib/auth/password-hash.ts';
import { distribution } from '../../upstreams/index.ts';
import { cachedProxy, pullImage, settle, storedBytes, storedDigests, tempDirectory, upstreamCount } from '../helpers/cache.ts';
import { basic, bearer, bytesOf, CONTAINERD_ACCEPT, digestOf, proxyToken, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();

async function readFails(response: Response): Promise<boolean> {
  try {
    await response.arrayBuffer();
    return false;
  } catch {
    return true;
  }
}

async function tempFiles(dir: string): Promise<string[]> {
  return readdir(join(dir, 'tmp')).catch(() => []);
}

describe('upstream faults during a fill', () => {
  it.each(['error', 'close'] as const)('a body cut short (%s) errors every waiting client and publishes nothing', async (mode) => {
    const { registry, proxy, dir, events } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [200_000] });
    const layer = image.layers[0]!;
    registry.faults.truncate(`/blobs/${layer.digest}`, { bytes: 120_000, mode, times: 1 });
    const responses = await Promise.all([1, 2, 3].map(() => proxy(req(`GET /v2/app/blobs/${layer.digest}`))));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await Promise.all(responses.map(readFails))).toEqual([true, true, true]);
    expect(upstreamCount(registry, 'GET', 'blobs')).toBe(1);
    expect(await storedDigests(dir)).toEqual([]);
    expect(events.some((e) => e.type === 'fill_failed')).toBe(true);

    const retry = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    expect(digestOf(await bytesOf(retry))).toBe(layer.digest);
    await settle(async () => (await storedDigests(dir)).includes(layer.digest));
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('content that does not hash to its digest errors the client and is not stored', async () => {
    const { registry, proxy, dir } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [5000] });
    const layer = image.layers[0]!;
    registry.faults.respond(`/blobs/${layer.digest}`, () =>
      new Response(new Uint8Array(randomBytes(5000)), { headers: { 'content-type': 'application/octet-stream', 'content-length': '5000' } }),
    );
    const response = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    expect(await readFails(response)).toBe(true);
    expect(await storedDigests(dir)).toEqual([]);
  });

  it('a 429 reaches the client as a 429 with Retry-After, and a 503 as a 503; nothing is stored', async () => {
    const { registry, proxy, dir } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1');
    const layer = image.layers[0]!;
    registry.faults.respond(`/blobs/${layer.digest}`, () =>
      Response.json({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }, { status: 429, headers: { 'retry-after': '30' } }),
    );
    const limited = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
    expect((await limited.json()).errors[0].code).toBe('TOOMANYREQUESTS');

    registry.faults.respond(`/blobs/${layer.digest}`, () => new Response('unavailable', { status: 503 }));
    expect((await proxy(req(`GET /v2/app/blobs/${layer.digest}`))).status).toBe(503);
    expect(await storedDigests(dir)).toEqual([]);
  });

  it('a body that stalls past timeouts.idle errors the client and publishes nothing', async () => {
    const { registry, proxy, dir } = await cachedProxy(server, { proxy: { timeouts: { idle: 200 } } });
    const image = registry.addImage('app', 'v1', { layers: [50_000] });
    const layer = image.layers[0]!;
    registry.faults.slow(`/blobs/${layer.digest}`, { stallAfterBytes: 10_000, stallMs: 1500, times: 1 });
    const response = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    expect(await readFails(response)).toBe(true);
    expect(await storedDigests(dir)).toEqual([]);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('a 404 on a miss is passed through', async () => {
    const { registry, proxy } = await cachedProxy(server);
    registry.addImage('app', 'v1');
    const missing = await proxy(req(`GET /v2/app/blobs/sha256:${'0'.repeat(64)}`));
    expect(missing.status).toBe(404);
    expect((await missing.json()).errors[0].code).toBe('BLOB_UNKNOWN');
  });
});

describe('client aborts', () => {
  it('the only client going away mid-fill stops it: nothing is published, no temp file is left', async () => {
    const { registry, proxy, dir } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [100_000] });
    const layer = image.layers[0]!;
    registry.faults.slow(`/blobs/${layer.digest}`, { stallAfterBytes: 40_000, stallMs: 400, times: 1 });
    const controller = new AbortController();
    const response = await proxy(req(`GET /v2/app/blobs/${layer.digest}`, { signal: controller.signal }));
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.cancel();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await storedDigests(dir)).toEqual([]);
    expect(await tempFiles(dir)).toEqual([]);
  });

  it('one client going away does not stop the fill another is reading', async () => {
    const { registry, proxy, dir } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [100_000] });
    const layer = image.layers[0]!;
    registry.faults.slow(`/blobs/${layer.digest}`, { stallAfterBytes: 40_000, stallMs: 300, times: 1 });
    const quitter = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    const stayer = await proxy(req(`GET /v2/app/blobs/${layer.digest}`));
    const reader = quitter.body!.getReader();
    await reader.read();
    await reader.cancel();
    expect(digestOf(await bytesOf(stayer))).toBe(layer.digest);
    await settle(async () => (await storedDigests(dir)).includes(layer.digest));
    expect(upstreamCount(registry, 'GET', 'blobs')).toBe(1);
  });
});

describe('upstream outage', () => {
  it('a cached image still pulls by tag (stale, with a Warning) and by digest; the failure is logged', async () => {
    const { registry, proxy, errors, events } = await cachedProxy(server);
    const image = registry.addImage('app', 'v1', { layers: [3000] });
    await pullImage(proxy, 'app', 'v1', image);
    registry.faults.respond(undefined, () => Response.error(), Infinity);

    const manifest = await proxy(req('GET /v2/app/manifests/v1', { headers: { accept: CONTAINERD_ACCEPT } }));
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('warning')).toMatch(/^110 /);
    expect(digestOf(await bytesOf(manifest))).toBe(image.manifest.digest);
    await pullImage(proxy, 'app', 'v1', image);
    expect((await proxy(req('GET /v2/'))).status).toBe(200);
    expect(events.some((e) => e.type === 'served_stale')).toBe(true);
    expect(errors.some((e) => /stale/.test(String(e)))).toBe(true);
  });

  it('a 503 upstream is ridden out the same way; past staleIfError the tag is not served', async () => {
    const fresh = await cachedProxy(server);
    const image = fresh.registry.addImage('app', 'v1');
    await pullImage(fresh.proxy, 'app', 'v1', image);
    fresh.registry.faults.respond(undefined, () => new Response('down', { status: 503 }), Infinity);
    expect((await fresh.proxy(req('GET /v2/app/manifests/v1', { headers: { accept: CONTAINERD_ACCEPT } }))).status).toBe(200);

    const strict = await cachedProxy(server, { cache: { staleIfError: 0 } });
    strict.registry.addImage('app', 'v1', image);
    await pullImage(strict.proxy, 'app', 'v1', image);
    await new Promise((resolve) => setTimeout(resolve, 5));
    strict.registry.faults.respond(undefined, () => new Response('down', { status: 503 }), Infinity);
    expect((await strict.proxy(req('GET /v2/app/manifests/v1', { headers: { accept: CONTAINERD_ACCEPT } }))).status).toBe(503);
  });

  it('tags/list is kept for listFreshness and served stale when the upstream fails', async () => {
    const { registry, proxy } = await cachedProxy(server);
    registry.addImage('app', 'v1');
    registry.addImage('app', 'v2');
    const first = await proxy(req('GET /v2/app/tags/list'));
    expect(await first.json()).toEqual({ name: 'app', tags: ['v1', 'v2'] });
    const again = await proxy(req('GET /v2/app/tags/list'));
    expect(await again.json()).toEqual({ name: 'app', tags: ['v1', 'v2'] });
    expect(upstreamCount(registry, 'GET', 'tags')).toBe(1);

    const expired = await cachedProxy(server, { cache: { listFreshness: 0 } });
    expired.registry.addImage('app', 'v1');
    await (await expired.proxy(req('GET /v2/app/tags/list'))).text();
    expired.registry.faults.respond(undefined, () => Response.error(), Infinity);
    const stale = await expired.proxy(req('GET /v2/app/tags/list'));
    expect(stale.status).toBe(200);
    expect(stale.headers.get('warning')).toMatch(/^110 /);
    expect(await stale.json()).toEqual({ name: 'app', tags: ['v1'] });
  });
});

describe('isolation', () => {
  it("a blob cached for repository A is 404 under repository B when B's upstream lacks it", async () => {
    const { registry, proxy } = await cachedProxy(server);
    const a = registry.addImage('team-a/app', 'v1', { layers: [2000] });
    registry.addImage('team-b/app', 'v1');
    await pullImage(proxy, 'team-a/app', 'v1', a);
    const leaked = await proxy(req(`GET /v2/team-b/app/blobs/${a.layers[0]!.digest}`));
    expect(leaked.status).toBe(404);
    expect((await leaked.json()).errors[0].code).toBe('BLOB_UNKNOWN');
    expect((await proxy(req(`HEAD /v2/team-b/app/blobs/${a.layers[0]!.digest}`))).status).toBe(404);
  });

  it('a blob B also has upstream is confirmed with a HEAD and served from the cache, not downloaded again', async () => {
    const { registry, proxy } = await cachedProxy(server);
    const image = registry.addImage('team-a/app', 'v1', { layers: [2000] });
    registry.addImage('team-b/app', 'v1', image);
    await pullImage(proxy, 'team-a/app', 'v1', image);
    registry.requests.clear();
    await pullImage(proxy, 'team-b/app', 'v1', image);
    expect(registry.requests.filter((r) => r.method === 'GET')).toEqual([]);
  });

  it("a private repository's cached image is refused to an anonymous client and served to an authorized one", async () => {
    const registry = distribution({ auth: 'token' });
    server.use(...registry.handlers);
    const image = registry.addImage('private/app', 'v1', { layers: [2000] });
    registry.setPrivate('private/app');
    registry.setCredentials('alice', 'secret-password');
    const proxy = createRegistryProxy({ upstream: registry.origin, cache: { store: new FsCacheStore(await tempDirectory()) } });
    const token = await proxyToken(proxy, 'scope=repository:private/app:pull&service=registry.example.com', {
      authorization: basic('alice', 'secret-password'),
    });
    await pullImage(proxy, 'private/app', 'v1', image, bearer(token));

    for (const path of [`blobs/${image.layers[0]!.digest}`, `manifests/${image.manifest.digest}`, 'manifests/v1']) {
      const anonymous = await proxy(req(`GET /v2/private/app/${path}`, { headers: { accept: CONTAINERD_ACCEPT } }));
      expect(anonymous.status, path).toBe(401);
      expect(await anonymous.text()).not.toContain('"layers"');
    }
    const anonymousToken = await proxyToken(proxy, 'scope=repository:private/app:pull&service=registry.example.com');
    const stranger = await proxy(req(`GET /v2/private/app/blobs/${image.layers[0]!.digest}`, { headers: bearer(anonymousToken) }));
    expect(stranger.status).toBe(401);
    await pullImage(proxy, 'private/app', 'v1', image, bearer(token));
  });

  it("the proxy's own users and access rules apply before any cache read", async () => {
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    const image = registry.addImage('app', 'v1');
    const proxy = createRegistryProxy({
      upstream: registry.origin,
      anonymousPull: false,
      deny: [{ repository: 'app', tags: ['blocked'] }],
      auth: { users: { bob: { passwordHash: await hashPassword('bobs-password', 1000) } } },
      cache: { store: new FsCacheStore(await tempDirectory()) },
    });
    registry.addImage('app', 'blocked', image);
    await pullImage(proxy, 'app', 'v1', image, { authorization: basic('bob', 'bobs-password') });
    expect((await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`))).status).toBe(401);
    const blocked = await proxy(req('GET /v2/app/manifests/blocked', { headers: { authorization: basic('bob', 'bobs-password'), accept: CONTAINERD_ACCEPT } }));
    expect(blocked.status).toBe(403);
  });
});

describe('eviction', () => {
  it('holds maxSize under churn, evicting least recently used content first; a read renews', async () => {
    const maxSize = 60_000;
    const { registry, proxy, dir, events } = await cachedProxy(server, { cache: { maxSize } });
    const keeper = registry.addImage('keeper', 'v1', { layers: [15_000] });
    await pullImage(proxy, 'keeper', 'v1', keeper);
    for (let round = 0; round < 8; round++) {
      const churn = registry.addImage(`churn${round}`, 'v1', { layers: [15_000] });
      await pullImage(proxy, `churn${round}`, 'v1', churn);
      await pullImage(proxy, 'keeper', 'v1', keeper); // reading renews the keeper
      await settle(async () => (await storedBytes(dir)) <= maxSize, 3000);
    }
    const stored = await storedDigests(dir);
    expect(stored).toContain(keeper.layers[0]!.digest);
    expect(stored).not.toContain(registry.store.repository('churn0')!.manifest('v1')!.digest);
    expect(events.filter((e) => e.type === 'eviction').length).toBeGreaterThan(0);
    // Links go with their content.
    expect(await readdir(join(dir, 'links', 'sha256')).then((names) => names.length)).toBe(stored.length);
  });
});

describe('a failing store', () => {
  it('degrades to pass-through and is logged once, not per request', async () => {
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    const image = registry.addImage('app', 'v1');
    const inner = new FsCacheStore(await tempDirectory());
    const broken = new Proxy(inner, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (property === 'list') {
          return async function* () {
            yield* [];
            throw new Error('disk on fire');
          };
        }
        return typeof value === 'function' ? () => Promise.reject(new Error('disk on fire')) : value;
      },
    }) as CacheStore;
    const errors: unknown[] = [];
    const proxy = createRegistryProxy({ upstream: registry.origin, cache: { store: broken }, onError: (error) => errors.push(error) });
    await pullImage(proxy, 'app', 'v1', image);
    await pullImage(proxy, 'app', 'v1', image);
    expect(errors.filter((e) => /disk on fire/.test(String(e)))).toHaveLength(1);
  });
});
