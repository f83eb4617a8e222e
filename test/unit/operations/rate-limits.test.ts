/**
 * Per-client token buckets (requests and blob bytes, proxy-wide and per route) on a clock the
 * test controls, the per-upstream concurrency cap against a slow upstream, and upstream 429s.
 */
import { describe, expect, it } from 'vitest';
import { createRegistryProxy, MemoryBucketStore, RegistryProxyOptionsError, type RegistryProxyOptions } from '../../../lib/index.ts';
import { fakeClock } from '../../helpers/fake-clock.ts';
import { parseExposition } from '../../helpers/prometheus-text.ts';
import { distribution, MediaType } from '../../upstreams/index.ts';
import { basic, testHash } from '../helpers/multi-upstream.ts';
import { bytesOf, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();
const ALICE = { clientAddress: '203.0.113.10' };
const BOB = { clientAddress: '203.0.113.20' };
const manifest = () => req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest } });

function setup(options: RegistryProxyOptions = {}) {
  const registry = distribution({ auth: 'anonymous' });
  server.use(...registry.handlers);
  const image = registry.addImage('app', 'v1', { layers: [100_000] });
  const proxy = createRegistryProxy({ upstream: registry.origin, metrics: true, ...options });
  return { registry, proxy, image };
}

function limited(proxy: ReturnType<typeof createRegistryProxy>, labels: Record<string, string>): number {
  return parseExposition(proxy.metrics(), 'prometheus').sum('registry_proxy_rate_limited_total', labels);
}

describe('request buckets', () => {
  it('a burst of 3 at 1 request/s: the 4th gets 429 TOOMANYREQUESTS with Retry-After, and the bucket refills with time', async () => {
    const clock = fakeClock();
    const { proxy, registry } = setup({ clock, rateLimits: { requests: { perSecond: 1, burst: 3 } } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await proxy(manifest(), ALICE);
      statuses.push(response.status);
      if (response.status === 429) {
        expect(response.headers.get('retry-after')).toBe('1');
        expect(await response.json()).toEqual({ errors: [{ code: 'TOOMANYREQUESTS', message: 'too many requests from this client', detail: null }] });
      } else await response.text();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(registry.requests.length).toBe(3); // refused requests never reach the upstream

    clock.advance(999);
    expect((await proxy(manifest(), ALICE)).status).toBe(429);
    clock.advance(1);
    expect((await proxy(manifest(), ALICE)).status).toBe(200);
    expect(limited(proxy, { reason: 'requests' })).toBe(3);
  });

  it('Retry-After is the whole seconds until a token is back', async () => {
    const clock = fakeClock();
    const { proxy } = setup({ clock, rateLimits: { requests: { perSecond: 0.2, burst: 1 } } });
    expect((await proxy(manifest(), ALICE)).status).toBe(200);
    expect((await proxy(manifest(), ALICE)).headers.get('retry-after')).toBe('5');
    clock.advance(2500);
    expect((await proxy(manifest(), ALICE)).headers.get('retry-after')).toBe('3');
  });

  it('each client has its own bucket: IP from the adapter, X-Forwarded-For only when trusted', async () => {
    const clock = fakeClock();
    const { proxy } = setup({ clock, rateLimits: { requests: { perSecond: 1, burst: 1 } } });
    expect((await proxy(manifest(), ALICE)).status).toBe(200);
    expect((await proxy(manifest(), ALICE)).status).toBe(429);
    expect((await proxy(manifest(), BOB)).status).toBe(200);
    // Untrusted X-Forwarded-For changes nothing: still Alice's socket.
    const spoofed = req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest, 'x-forwarded-for': '198.51.100.1' } });
    expect((await proxy(spoofed, ALICE)).status).toBe(429);

    const trusting = setup({ clock, trustForwardedHeaders: true, rateLimits: { requests: { perSecond: 1, burst: 1 } } }).proxy;
    const from = (ip: string) => req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest, 'x-forwarded-for': `${ip}, 10.0.0.1` } });
    expect((await trusting(from('198.51.100.1'), ALICE)).status).toBe(200);
    expect((await trusting(from('198.51.100.2'), ALICE)).status).toBe(200);
    expect((await trusting(from('198.51.100.1'), ALICE)).status).toBe(429);
  });

  it('an authenticated user is the client, wherever they connect from; a wrong password is not that user', async () => {
    const clock = fakeClock();
    const { proxy } = setup({
      clock,
      auth: { users: { alice: { passwordHash: await testHash('alice-pw') } } },
      rateLimits: { requests: { perSecond: 1, burst: 2 } },
    });
    const asAlice = (password: string) =>
      req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest, authorization: basic('alice', password) } });
    expect((await proxy(asAlice('alice-pw'), ALICE)).status).toBe(200);
    expect((await proxy(asAlice('alice-pw'), BOB)).status).toBe(200);
    expect((await proxy(asAlice('alice-pw'), { clientAddress: '192.0.2.99' })).status).toBe(429);
    // Someone guessing at Alice's password spends their own IP's bucket, not hers.
    expect((await proxy(asAlice('wrong'), { clientAddress: '192.0.2.1' })).status).toBe(401);
  });

  it('per-route limits add to the proxy-wide ones, counted by route', async () => {
    const clock = fakeClock();
    const a = distribution({ auth: 'anonymous', origin: 'https://a.example.com' });
    const b = distribution({ auth: 'anonymous', origin: 'https://b.example.com' });
    server.use(...a.handlers, ...b.handlers);
    a.addImage('app', 'v1');
    b.addImage('app', 'v1');
    const proxy = createRegistryProxy({
      clock,
      metrics: true,
      rateLimits: { requests: { perSecond: 1, burst: 3 } },
      upstreams: [
        { upstream: a.origin, name: 'a', pathPrefix: 'a', rateLimits: { requests: { perSecond: 1, burst: 1 } } },
        { upstream: b.origin, name: 'b', pathPrefix: 'b' },
      ],
    });
    const pull = (route: string) => proxy(req(`GET /v2/${route}/app/manifests/v1`, { headers: { accept: MediaType.ociManifest } }), ALICE);
    expect((await pull('a')).status).toBe(200);
    expect((await pull('a')).status).toBe(429); // route a: 1 burst
    expect((await pull('b')).status).toBe(200);
    expect((await pull('b')).status).toBe(429); // proxy-wide burst of 3: the refused 'a' took one too
    expect(limited(proxy, { route: 'a', reason: 'requests' })).toBe(1);
    expect(limited(proxy, { route: 'b', reason: 'requests' })).toBe(1);
  });

  it('a custom store receives the buckets (for a shared store across instances)', async () => {
    const calls: string[] = [];
    const memory = new MemoryBucketStore();
    const store = {
      tryTake: (key: string, cost: number, spec: { perSecond: number; burst: number }, now: number) => {
        calls.push(key);
        return Promise.resolve(memory.tryTake(key, cost, spec, now));
      },
      take: memory.take.bind(memory),
      debt: memory.debt.bind(memory),
    };
    const { proxy } = setup({ rateLimitStore: store, rateLimits: { requests: { perSecond: 10 } } });
    expect((await proxy(manifest(), ALICE)).status).toBe(200);
    expect(calls).toEqual(['requests * ip:203.0.113.10']);
  });
});

describe('blob byte buckets', () => {
  it('pace: a 100 kB blob at 20 kB/s with a 20 kB burst takes 4 s of clock time (within 10%), every byte intact', async () => {
    const clock = fakeClock({ autoAdvance: true });
    const { proxy, image } = setup({ clock, rateLimits: { blobBytes: { perSecond: 20_000, burst: 20_000, mode: 'pace' } } });
    const started = clock.now();
    const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`), ALICE);
    expect(response.status).toBe(200);
    const body = await bytesOf(response);
    expect(body.byteLength).toBe(100_000);
    const seconds = (clock.now() - started) / 1000;
    const rate = (100_000 - 20_000) / seconds;
    expect(Math.abs(rate - 20_000) / 20_000).toBeLessThan(0.1);
    expect(limited(proxy, { reason: 'bytes' })).toBe(1);
  });

  it('pace holds chunk by chunk: the body is released only as the clock moves', async () => {
    const clock = fakeClock();
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    const image = registry.addImage('app', 'v1', { layers: [30_000] });
    // Three 10 kB chunks from the upstream, so there is something to pace between.
    const chunked: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!response.ok || !response.url.includes('/blobs/')) return response;
      const bytes = new Uint8Array(await response.arrayBuffer());
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let at = 0; at < bytes.byteLength; at += 10_000) controller.enqueue(bytes.slice(at, at + 10_000));
          controller.close();
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const proxy = createRegistryProxy({ upstream: registry.origin, fetch: chunked, clock, rateLimits: { blobBytes: { perSecond: 10_000, burst: 10_000 } } });
    const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`), ALICE);
    const reader = response.body!.getReader();
    expect((await reader.read()).value!.byteLength).toBe(10_000); // the burst
    const second = reader.read();
    let arrived = false;
    void second.then(() => (arrived = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(arrived).toBe(false);
    clock.advance(1000);
    expect((await second).value!.byteLength).toBe(10_000);
    const third = reader.read();
    clock.advance(1000);
    expect((await third).value!.byteLength).toBe(10_000);
  });

  it('reject: the transfer under way finishes; new blob GETs get 429 until the debt is paid, manifests still pass', async () => {
    const clock = fakeClock();
    const { proxy, image } = setup({ clock, rateLimits: { blobBytes: { perSecond: 50_000, burst: 50_000, mode: 'reject' } } });
    const blob = () => proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`), ALICE);
    expect((await bytesOf(await blob())).byteLength).toBe(100_000); // 50 kB over: one second of debt
    const refused = await blob();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await proxy(manifest(), ALICE)).status).toBe(200);
    expect((await proxy(req(`HEAD /v2/app/blobs/${image.layers[0]!.digest}`), ALICE)).status).toBe(200);
    expect((await blob()).status).toBe(429);
    clock.advance(1000);
    expect((await blob()).status).toBe(200);
    expect(limited(proxy, { reason: 'bytes' })).toBe(2);
  });
});

describe('upstream concurrency cap', () => {
  it('requests over the cap queue, and after queueTimeout get 503 UPSTREAM_BUSY with Retry-After', async () => {
    const { proxy, registry } = setup({ concurrency: { limit: 2, queueTimeout: 300 } });
    registry.faults.slow('/manifests/', { headersMs: 1000, times: 2 });
    const started = Date.now();
    const slow = [proxy(manifest()), proxy(manifest())];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const queued = await proxy(manifest());
    expect(queued.status).toBe(503);
    expect(queued.headers.get('retry-after')).toBe('1');
    expect((await queued.json()).errors[0].code).toBe('UPSTREAM_BUSY');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect((await Promise.all(slow)).map((response) => response.status)).toEqual([200, 200]);
    expect(limited(proxy, { reason: 'concurrency' })).toBe(1);
  });

  it('a queued request gets the slot a finished one frees: the upstream never sees more than the cap', async () => {
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    registry.addImage('app', 'v1');
    let active = 0;
    let most = 0;
    const counting: typeof fetch = async (input, init) => {
      most = Math.max(most, ++active);
      try {
        await new Promise((resolve) => setTimeout(resolve, 40));
        return await fetch(input, init);
      } finally {
        active--;
      }
    };
    const proxy = createRegistryProxy({ upstream: registry.origin, fetch: counting, concurrency: { limit: 2, queueTimeout: 5000 } });
    const statuses = (await Promise.all(Array.from({ length: 6 }, () => proxy(manifest())))).map((response) => response.status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expect(most).toBe(2);
    expect(registry.requests.length).toBe(6);
  });

  it('upstream 429s pass through with their Retry-After and are counted', async () => {
    const { proxy, registry } = setup();
    registry.faults.respond(
      '/manifests/',
      () => new Response('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down","detail":null}]}\n', { status: 429, headers: { 'retry-after': '17', 'content-type': 'application/json' } }),
    );
    const response = await proxy(manifest());
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('17');
    expect(limited(proxy, { route: 'registry.example.com', reason: 'upstream' })).toBe(1);
  });
});

describe('options', () => {
  it('bad limits throw naming the field', () => {
    const bad: Array<[RegistryProxyOptions, string]> = [
      [{ rateLimits: { requests: { perSecond: 0 } } }, 'rateLimits.requests.perSecond'],
      [{ rateLimits: { blobBytes: { perSecond: 10, mode: 'drop' as 'pace' } } }, 'rateLimits.blobBytes.mode'],
      [{ concurrency: { limit: 0 } }, 'concurrency.limit'],
      [{ upstreams: [{ upstream: 'ghcr.io', concurrency: { limit: 2, queueTimeout: -1 } }] }, 'upstreams[0].concurrency.queueTimeout'],
      [{ upstreams: [{ upstream: 'ghcr.io', rateLimits: { requests: { perSecond: 1, burst: -2 } } }] }, 'upstreams[0].rateLimits.requests.burst'],
      [{ healthPath: 'health' }, 'healthPath'],
      [{ metrics: { maxRepositories: 0 } }, 'metrics.maxRepositories'],
    ];
    for (const [options, field] of bad) {
      expect(() => createRegistryProxy(options)).toThrow(RegistryProxyOptionsError);
      expect(() => createRegistryProxy(options)).toThrow(`"${field}"`);
    }
  });
});
