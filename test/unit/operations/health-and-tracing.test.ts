/**
 * /healthz and /readyz (recent answers, a check made now, an upstream going down, the drain),
 * trace context sent upstream, and request ids.
 */
import { describe, expect, it } from 'vitest';
import { http, HttpResponse } from 'msw';
import { createRegistryProxy, withRequestLog, type RequestLogEntry, type RegistryProxyOptions } from '../../../lib/index.ts';
import { fakeClock } from '../../helpers/fake-clock.ts';
import { distribution, MediaType } from '../../upstreams/index.ts';
import { req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();
const manifest = (headers: Record<string, string> = {}) => req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest, ...headers } });

function setup(options: RegistryProxyOptions = {}) {
  const registry = distribution({ auth: 'anonymous' });
  server.use(...registry.handlers);
  registry.addImage('app', 'v1');
  const proxy = createRegistryProxy({ upstream: registry.origin, ...options });
  return { registry, proxy };
}

const readyz = async (proxy: ReturnType<typeof createRegistryProxy>) => {
  const response = await proxy.operations(new Request('http://ops.internal/readyz'));
  return { status: response.status, body: (await response.json()) as { ready: boolean; draining: boolean; upstreams: Array<{ how: string; status?: unknown }> } };
};

describe('health', () => {
  it('/healthz answers 200 while the process runs', async () => {
    const { proxy } = setup();
    const response = await proxy.operations(new Request('http://ops.internal/healthz'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz: a recent upstream answer is enough; once stale, /v2/ is asked now; down upstream → 503', async () => {
    const clock = fakeClock();
    const { proxy, registry } = setup({ clock, readiness: { maxAge: 10_000, timeout: 500 } });
    await (await proxy(manifest())).text();
    const before = registry.requests.length;
    expect(await readyz(proxy)).toMatchObject({ status: 200, body: { ready: true, upstreams: [{ how: 'recent' }] } });
    expect(registry.requests.length).toBe(before); // nothing asked upstream

    clock.advance(10_001);
    expect(await readyz(proxy)).toMatchObject({ status: 200, body: { ready: true, upstreams: [{ how: 'checked', status: 200 }] } });
    expect(registry.requests.at(-1)!.url).toBe(`${registry.origin}/v2/`);

    // The upstream goes down: connections fail.
    server.use(http.all(`${registry.origin}/*`, () => HttpResponse.error()));
    clock.advance(10_001);
    expect(await readyz(proxy)).toMatchObject({ status: 503, body: { ready: false, upstreams: [{ how: 'checked', status: 'UPSTREAM_UNREACHABLE' }] } });
  });

  it('/readyz: an upstream answering 5xx, or slower than the timeout, is not ready', async () => {
    const { proxy, registry } = setup({ readiness: { maxAge: 0, timeout: 200 } });
    server.use(http.get(`${registry.origin}/v2/`, () => new HttpResponse(null, { status: 503 }), { once: true }));
    expect((await readyz(proxy)).status).toBe(503);
    registry.faults.slow('/v2/', { headersMs: 2000 });
    expect(await readyz(proxy)).toMatchObject({ status: 503, body: { upstreams: [{ status: 'UPSTREAM_TIMEOUT' }] } });
  });

  it('/readyz fails as soon as the drain starts, /healthz still answers', async () => {
    const { proxy } = setup();
    expect((await readyz(proxy)).status).toBe(200);
    proxy.drain();
    expect(await readyz(proxy)).toMatchObject({ status: 503, body: { ready: false, draining: true } });
    expect((await proxy.operations(new Request('http://ops.internal/healthz'))).status).toBe(200);
  });

  it('healthPath serves both on the main port; without it they are registry 404s', async () => {
    const { proxy } = setup({ healthPath: '/-' });
    expect((await proxy(req('GET /-/healthz'))).status).toBe(200);
    expect((await proxy(req('GET /-/readyz'))).status).toBe(200);
    expect((await proxy(req('GET /-/metrics'))).status).toBe(404); // metrics never on the public port
    const plain = setup().proxy;
    expect((await plain(req('GET /healthz'))).status).toBe(404);
    const root = setup({ healthPath: '/' }).proxy;
    expect((await root(req('GET /healthz'))).status).toBe(200);
  });
});

describe('tracing', () => {
  it('continues the caller’s trace upstream with the proxy’s own span, passing tracestate', async () => {
    const { proxy, registry } = setup();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await (await proxy(manifest({ traceparent, tracestate: 'vendor=abc' }))).text();
    const sent = registry.requests.at(-1)!.headers;
    const match = /^00-4bf92f3577b34da6a3ce929d0e0e4736-([0-9a-f]{16})-01$/.exec(sent.traceparent!);
    expect(match).not.toBeNull();
    expect(match![1]).not.toBe('00f067aa0ba902b7');
    expect(sent.tracestate).toBe('vendor=abc');
  });

  it('starts a trace when none came in; each request gets its own', async () => {
    const { proxy, registry } = setup();
    await (await proxy(manifest())).text();
    await (await proxy(manifest())).text();
    const [one, two] = registry.requests.slice(-2).map((request) => request.headers.traceparent);
    expect(one).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(one!.slice(3, 35)).not.toBe(two!.slice(3, 35));
  });

  it('reads Cloud Run’s X-Cloud-Trace-Context the same way', async () => {
    const { proxy, registry } = setup();
    await (await proxy(manifest({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' }))).text();
    expect(registry.requests.at(-1)!.headers.traceparent).toMatch(/^00-105445aa7843bc8bf206b12000100000-[0-9a-f]{16}-01$/);
  });

  it('invalid traceparent values are ignored (a new trace starts)', async () => {
    const { proxy, registry } = setup();
    for (const bad of ['00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'garbage']) {
      await (await proxy(manifest({ traceparent: bad }))).text();
      expect(registry.requests.at(-1)!.headers.traceparent).not.toContain('4bf92f3577b34da6a3ce929d0e0e4736');
      expect(registry.requests.at(-1)!.headers.traceparent).toMatch(/^00-(?!0{32})[0-9a-f]{32}-/);
    }
  });

  it('X-Request-Id is honoured when sane, generated otherwise, and echoed', async () => {
    const { proxy } = setup();
    expect((await proxy(manifest({ 'x-request-id': 'req-42' }))).headers.get('x-request-id')).toBe('req-42');
    const generated = (await proxy(manifest({ 'x-request-id': 'bad id\twith spaces' }))).headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const errorResponse = await proxy(req('GET /v2/Bad_Name/manifests/v1'));
    expect(errorResponse.status).toBe(404); // a name that cannot exist: NAME_UNKNOWN, as distribution answers
    expect(errorResponse.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('tracing: false sends no traceparent and no request id', async () => {
    const { proxy, registry } = setup({ tracing: false });
    const response = await proxy(manifest({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }));
    await response.text();
    expect(response.headers.get('x-request-id')).toBeNull();
    expect(registry.requests.at(-1)!.headers.traceparent).toBeUndefined();
  });

  it('log entries carry request id, trace, route, upstream status and duration, and the bytes sent', async () => {
    const { proxy } = setup({ metrics: true });
    const entries: RequestLogEntry[] = [];
    const logged = withRequestLog(proxy, (entry) => entries.push(entry));
    const response = await logged(manifest({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'x-request-id': 'r1' }));
    const body = await response.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      requestId: 'r1',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      route: 'registry.example.com',
      upstreamStatus: 200,
      bytesSent: body.byteLength,
    });
    expect(entries[0]!.upstreamDurationMs).toBeGreaterThanOrEqual(0);
  });
});
