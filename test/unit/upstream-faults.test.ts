/**
 * Issue 9, the handler's side of upstream faults: challenges from redirect targets teach the
 * proxy nothing and get no credential (defect 1); token fetches leave no listener behind
 * (defect 5); error bodies and tag lists are counted while read, under the idle timer (defect
 * 6); the idle timer measures the upstream only while the proxy waits for it (defect 8).
 * The upstream is a custom `fetch` here, so each fault is exact.
 */
import { describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../lib/index.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const UPSTREAM = 'https://registry.test';
const REALM = 'https://auth.test/token';
const STRANGER = 'https://cdn.stranger.test';

interface Seen {
  url: string;
  authorization: string | null;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/**
 * A token-auth registry whose blob GETs redirect to a stranger that challenges with its own
 * realm, as a hijacked or misconfigured CDN would. Records every request with its credential.
 */
function redirectingRegistry() {
  const seen: Seen[] = [];
  const fetch: typeof globalThis.fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const authorization = new Headers(init.headers).get('authorization');
    seen.push({ url: url.href, authorization });
    if (url.href.startsWith(REALM)) return json(200, { token: 'upstream-token', expires_in: 300 });
    if (url.origin === STRANGER) {
      if (url.pathname === '/steal') return json(200, { token: 'stolen', expires_in: 300 });
      return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'no', detail: null }] }, { 'www-authenticate': `Bearer realm="${STRANGER}/steal",service="x"` });
    }
    if (authorization !== 'Bearer upstream-token') {
      return json(401, { errors: [{ code: 'UNAUTHORIZED', message: 'no', detail: null }] }, { 'www-authenticate': `Bearer realm="${REALM}",service="registry"` });
    }
    if (url.pathname.includes('/blobs/')) return new Response(null, { status: 307, headers: { location: `${STRANGER}/blob` } });
    return json(200, {});
  }) as typeof globalThis.fetch;
  const leaked = () => seen.filter((s) => !s.url.startsWith(UPSTREAM) && !s.url.startsWith(REALM) && s.authorization !== null);
  return { fetch, seen, leaked };
}

describe('a challenge from a redirect target (defect 1)', () => {
  it('proxy-held credentials: 502 naming the status, the stranger realm never asked, the upstream realm kept', async () => {
    const upstream = redirectingRegistry();
    const proxy = createRegistryProxy({ upstream: UPSTREAM, credentials: { username: 'u', password: 'p' }, redirects: 'follow', fetch: upstream.fetch });
    for (let i = 0; i < 2; i++) {
      const response = await proxy(new Request(`http://proxy.test/v2/app${i}/blobs/${DIGEST}`));
      expect(response.status).toBe(502);
      expect(await response.text()).toContain('401');
    }
    expect(upstream.seen.map((s) => s.url)).not.toContain(`${STRANGER}/steal`);
    expect(upstream.leaked()).toEqual([]);
    // The next token still comes from the upstream's realm.
    const manifest = await proxy(new Request('http://proxy.test/v2/other/manifests/v1'));
    expect(manifest.status).toBe(200);
    expect(upstream.seen.filter((s) => s.url.startsWith(REALM) && s.url.includes('other'))).toHaveLength(1);
  });

  it("client dance: the client's token requests keep going to the upstream's realm", async () => {
    const upstream = redirectingRegistry();
    const proxy = createRegistryProxy({ upstream: UPSTREAM, redirects: 'follow', fetch: upstream.fetch });
    const response = await proxy(new Request(`http://proxy.test/v2/app/blobs/${DIGEST}`, { headers: { authorization: 'Bearer upstream-token' } }));
    expect(response.status).toBe(502);
    expect(response.headers.get('www-authenticate')).toBeNull();
    const token = await proxy(new Request('http://proxy.test/_token?scope=repository:app:pull', { headers: { authorization: 'Basic Y2xpZW50OnNlY3JldA==' } }));
    expect(token.status).toBe(200);
    expect(upstream.seen.at(-1)!.url.startsWith(REALM)).toBe(true);
    expect(upstream.leaked()).toEqual([]);
  });
});

describe('token fetches (defect 5)', () => {
  it('300 token fetches leave no abort listener behind (no MaxListenersExceededWarning)', { timeout: 60_000 }, async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    const signals = new Set<AbortSignal>();
    const fetch: typeof globalThis.fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
      if (init.signal) signals.add(init.signal);
      const url = new URL(String(input));
      if (url.href.startsWith(REALM)) return json(200, { token: 'upstream-token', expires_in: 300 });
      if (new Headers(init.headers).get('authorization') !== 'Bearer upstream-token') {
        return json(401, {}, { 'www-authenticate': `Bearer realm="${REALM}",service="registry"` });
      }
      return json(200, {});
    }) as typeof globalThis.fetch;
    const proxy = createRegistryProxy({ upstream: UPSTREAM, credentials: { username: 'u', password: 'p' }, fetch });
    try {
      for (let i = 0; i < 300; i += 100) {
        const batch = Array.from({ length: 100 }, (_, j) => proxy(new Request(`http://proxy.test/v2/repo${i + j}/manifests/v1`)));
        for (const response of await Promise.all(batch)) expect(response.status).toBe(200);
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

/** A body that yields `chunk` `count` times, counting how many the proxy pulled. */
function countedBody(chunk: Uint8Array, count: number) {
  const state = { pulled: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled === count) return controller.close();
      state.pulled++;
      controller.enqueue(chunk);
    },
  }, { highWaterMark: 0 });
  return { body, state };
}

/** A body that sends `head` and then nothing, ever (until cancelled). */
function stallingBody(head: string) {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(head));
    },
    pull() {
      return new Promise(() => {});
    },
    cancel() {
      cancelled = true;
    },
  });
  return { body, cancelled: () => cancelled };
}

function anonymousUpstream(answer: (url: URL) => Response): typeof fetch {
  return (async (input: RequestInfo | URL) => {
    const url = new URL(String(input));
    if (url.pathname === '/v2/') return json(200, {});
    return answer(url);
  }) as typeof fetch;
}

describe('error bodies and tag lists are counted while read (defect 6)', () => {
  it('a chunked 50 MiB error body: the status with an OCI body, at most a little read', async () => {
    const { body, state } = countedBody(new Uint8Array(64 * 1024).fill(120), 800);
    const proxy = createRegistryProxy({
      upstream: UPSTREAM,
      fetch: anonymousUpstream(() => new Response(body, { status: 404, headers: { 'content-type': 'application/json' } })),
    });
    const response = await proxy(new Request(`http://proxy.test/v2/app/blobs/${DIGEST}`));
    expect(response.status).toBe(404);
    const parsed = (await response.json()) as { errors: Array<{ code: string }> };
    expect(parsed.errors[0]!.code).toBeTypeOf('string');
    expect(state.pulled * 64 * 1024).toBeLessThanOrEqual(256 * 1024);
  });

  it('an error body that stalls: an OCI 504 within the idle timeout, the upstream body cancelled', async () => {
    const stalled = stallingBody('{"errors":[{"code":"BLOB_UNK');
    const proxy = createRegistryProxy({
      upstream: UPSTREAM,
      timeouts: { idle: 200 },
      fetch: anonymousUpstream(() => new Response(stalled.body, { status: 404, headers: { 'content-type': 'application/json', 'content-length': '200' } })),
    });
    const started = Date.now();
    const response = await proxy(new Request(`http://proxy.test/v2/app/blobs/${DIGEST}`));
    expect(response.status).toBe(504);
    expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UPSTREAM_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(stalled.cancelled()).toBe(true);
  });

  it('a chunked tag list over 8 MiB: 502, at most a little past the cap read', async () => {
    const { body, state } = countedBody(new TextEncoder().encode(`"${'t'.repeat(65534)}",`.repeat(1)), 400);
    const proxy = createRegistryProxy({
      upstream: UPSTREAM,
      fetch: anonymousUpstream(() => new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })),
    });
    const response = await proxy(new Request('http://proxy.test/v2/app/tags/list'));
    expect(response.status).toBe(502);
    expect(((await response.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('UPSTREAM_INVALID');
    expect(state.pulled).toBeLessThanOrEqual(8 * 16 + 8); // the cap, plus what was read ahead
  });
});

describe('the idle timeout measures the upstream only (defect 8)', () => {
  it('a client that stops reading for 5× the idle timeout still gets every byte', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(7);
    const total = 64; // 4 MiB, far past the read-ahead
    const { body } = countedBody(chunk, total);
    const proxy = createRegistryProxy({
      upstream: UPSTREAM,
      timeouts: { idle: 100 },
      fetch: anonymousUpstream(
        () => new Response(body, { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(total * chunk.length) } }),
      ),
    });
    const response = await proxy(new Request(`http://proxy.test/v2/app/blobs/${DIGEST}`));
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    let received = (await reader.read()).value!.byteLength;
    await new Promise((resolve) => setTimeout(resolve, 500)); // the client pauses
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
    }
    expect(received).toBe(total * chunk.length);
  });

  it('an upstream that stalls while the client waits is still cut after the idle timeout', async () => {
    const stalled = stallingBody('x'.repeat(1000));
    const errors: unknown[] = [];
    const proxy = createRegistryProxy({
      upstream: UPSTREAM,
      timeouts: { idle: 150 },
      onError: (error) => errors.push(error),
      fetch: anonymousUpstream(() => new Response(stalled.body, { status: 200, headers: { 'content-length': '5000' } })),
    });
    const response = await proxy(new Request(`http://proxy.test/v2/app/blobs/${DIGEST}`));
    await expect(response.arrayBuffer()).rejects.toThrow(/stalled/);
    expect(String(errors[0])).toMatch(/upstream body stalled/);
    expect(stalled.cancelled()).toBe(true);
  });

  it('a body ending short of its Content-Length is an error the operator hears of', async () => {
    const errors: unknown[] = [];
    const proxy = createRegistryProxy({
      upstream: UPSTREAM,
      onError: (error) => errors.push(error),
      fetch: anonymousUpstream(() => new Response('x'.repeat(1000), { status: 200, headers: { 'content-length': '5000' } })),
    });
    const response = await proxy(new Request(`http://proxy.test/v2/app/blobs/${DIGEST}`));
    await expect(response.arrayBuffer()).rejects.toThrow(/ended after 1000 of 5000/);
    expect(String(errors[0])).toMatch(/upstream body ended after 1000 of 5000 bytes/);
  });
});
