/**
 * Metrics, scraped as Prometheus does (GET /metrics on the operations handler) and parsed by a
 * strict text parser: counters move by exactly the requests and bytes of each test.
 */
import { describe, expect, it } from 'vitest';
import { createRegistryProxy, type RegistryProxyOptions } from '../../../lib/index.ts';
import { parseExposition, type Format } from '../../helpers/prometheus-text.ts';
import { distribution, MediaType } from '../../upstreams/index.ts';
import { bytesOf, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();

function setup(options: RegistryProxyOptions = {}) {
  const registry = distribution({ auth: 'anonymous' });
  server.use(...registry.handlers);
  const proxy = createRegistryProxy({ upstream: registry.origin, metrics: true, ...options });
  const image = registry.addImage('app', 'v1', { layers: [5000, 70_000] });
  return { registry, proxy, image };
}

async function scrape(proxy: ReturnType<typeof createRegistryProxy>, format: Format = 'prometheus') {
  const accept = format === 'openmetrics' ? 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5' : 'text/plain';
  const response = await proxy.operations(new Request('http://metrics.internal/metrics', { headers: { accept } }));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe(
    format === 'openmetrics' ? 'application/openmetrics-text; version=1.0.0; charset=utf-8' : 'text/plain; version=0.0.4; charset=utf-8',
  );
  const text = await response.text();
  return { text, scrape: parseExposition(text, format) };
}

describe('request and byte counters', () => {
  it('count each request by route, endpoint, method and code, and each body byte sent', async () => {
    const { proxy, image } = setup();
    const route = 'registry.example.com';
    const [small, large] = image.layers;

    for (let i = 0; i < 3; i++) {
      const response = await proxy(req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest } }));
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    const head = await proxy(req(`HEAD /v2/app/blobs/${small!.digest}`));
    expect(head.status).toBe(200);
    const blob = await proxy(req(`GET /v2/app/blobs/${large!.digest}`));
    expect((await bytesOf(blob)).byteLength).toBe(70_000);
    const missing = await proxy(req('GET /v2/app/manifests/nope', { headers: { accept: MediaType.ociManifest } }));
    expect(missing.status).toBe(404);
    const missingBody = await missing.text();
    await (await proxy(req('GET /v2/'))).text();

    const { scrape: metrics } = await scrape(proxy);
    expect(metrics.value('registry_proxy_requests_total', { route, endpoint: 'manifest', method: 'GET', code: '200' })).toBe(3);
    expect(metrics.value('registry_proxy_requests_total', { route, endpoint: 'manifest', method: 'GET', code: '404' })).toBe(1);
    expect(metrics.value('registry_proxy_requests_total', { route, endpoint: 'blob', method: 'HEAD', code: '200' })).toBe(1);
    expect(metrics.value('registry_proxy_requests_total', { route, endpoint: 'blob', method: 'GET', code: '200' })).toBe(1);
    expect(metrics.value('registry_proxy_requests_total', { route, endpoint: 'ping', method: 'GET', code: '200' })).toBe(1);
    expect(metrics.sum('registry_proxy_requests_total')).toBe(7);

    const manifestBytes = 3 * image.manifest.bytes.byteLength + new TextEncoder().encode(missingBody).byteLength;
    expect(metrics.value('registry_proxy_bytes_sent_total', { route, endpoint: 'manifest' })).toBe(manifestBytes);
    expect(metrics.value('registry_proxy_bytes_sent_total', { route, endpoint: 'blob' })).toBe(70_000);
    expect(metrics.value('registry_proxy_request_duration_seconds_count', { route, endpoint: 'manifest' })).toBe(4);
    // Every request went upstream once (the ping too: clients do this upstream's token dance themselves).
    expect(metrics.sum('registry_proxy_upstream_requests_total', { route })).toBe(7);
    expect(metrics.value('registry_proxy_upstream_requests_total', { route, code: '404' })).toBe(1);
    expect(metrics.value('registry_proxy_upstream_duration_seconds_count', { route })).toBe(7);
    expect(metrics.value('registry_proxy_inflight_requests')).toBe(0);
  });

  it('the in-flight gauge counts a blob until its body has been read', async () => {
    const { proxy, image } = setup();
    const blob = await proxy(req(`GET /v2/app/blobs/${image.layers[1]!.digest}`));
    expect((await scrape(proxy)).scrape.value('registry_proxy_inflight_requests')).toBe(1);
    const reader = blob.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    const { scrape: metrics } = await scrape(proxy);
    expect(metrics.value('registry_proxy_inflight_requests')).toBe(0);
    // A cancelled body counts what was passed on before the client left, no more.
    expect(metrics.value('registry_proxy_bytes_sent_total', { route: 'registry.example.com', endpoint: 'blob' })).toBe(first.value!.byteLength);
  });

  it('OpenMetrics when the scraper asks for it, with # UNIT and # EOF; the same values', async () => {
    const { proxy } = setup();
    await (await proxy(req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest } }))).text();
    const { text, scrape: metrics } = await scrape(proxy, 'openmetrics');
    expect(text).toContain('# TYPE registry_proxy_requests counter');
    expect(text).toContain('# UNIT registry_proxy_request_duration_seconds seconds');
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(metrics.sum('registry_proxy_requests_total', { endpoint: 'manifest' })).toBe(1);
    expect(proxy.metrics('openmetrics')).toBe(text);
    expect(parseExposition(proxy.metrics(), 'prometheus').sum('registry_proxy_requests_total')).toBe(1);
  });
});

describe('labels', () => {
  it('carry no repository and no credential by default', async () => {
    const registry = distribution({ auth: 'basic' });
    registry.setCredentials('robot', 'hunter2-secret');
    server.use(...registry.handlers);
    registry.addImage('secret-team/app', 'v1');
    const proxy = createRegistryProxy({ upstream: registry.origin, credentials: { username: 'robot', password: 'hunter2-secret' }, metrics: true });
    const response = await proxy(req('GET /v2/secret-team/app/manifests/v1', { headers: { accept: MediaType.ociManifest, authorization: 'Bearer client-token-xyz' } }));
    expect(response.status).toBe(200);
    await response.text();
    const { text } = await scrape(proxy);
    for (const secret of ['secret-team', 'robot', 'hunter2', 'client-token-xyz', 'Basic ', 'Bearer']) expect(text).not.toContain(secret);
  });

  it('repositoryLabels adds the client repository name, bounded by maxRepositories', async () => {
    const { proxy, registry } = setup({ metrics: { repositoryLabels: true, maxRepositories: 2 } });
    registry.addImage('two', 'v1');
    registry.addImage('three', 'v1');
    for (const name of ['app', 'two', 'three', 'app']) {
      await (await proxy(req(`GET /v2/${name}/manifests/v1`, { headers: { accept: MediaType.ociManifest } }))).text();
    }
    const { scrape: metrics } = await scrape(proxy);
    const labelled = (repository: string) => metrics.sum('registry_proxy_requests_total', { endpoint: 'manifest', repository });
    expect([labelled('app'), labelled('two'), labelled('other')]).toEqual([2, 1, 1]);
    expect(metrics.samples('registry_proxy_requests_total').map((sample) => sample.labels.repository)).not.toContain('three');
  });

  it('methods outside the registry API fold into OTHER; unknown paths are endpoint other, route none', async () => {
    const { proxy } = setup();
    await (await proxy(req('PROPFIND /v2/app/manifests/v1'))).text();
    await (await proxy(req('GET /favicon.ico'))).text();
    const { scrape: metrics } = await scrape(proxy);
    expect(metrics.value('registry_proxy_requests_total', { route: 'registry.example.com', endpoint: 'upload', method: 'OTHER', code: '405' })).toBe(1);
    expect(metrics.value('registry_proxy_requests_total', { route: 'none', endpoint: 'other', method: 'GET', code: '404' })).toBe(1);
  });
});

describe('token fetches and collectors', () => {
  it('counts the proxy’s own upstream token fetches by result', async () => {
    const registry = distribution({ auth: 'token' });
    server.use(...registry.handlers);
    registry.addImage('app', 'v1');
    const proxy = createRegistryProxy({ upstream: registry.origin, credentials: async () => ({ username: 'nobody', password: 'x' }), metrics: true });
    registry.setCredentials('nobody', 'x');
    await (await proxy(req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest } }))).text();
    await (await proxy(req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest } }))).text();
    const { scrape: metrics } = await scrape(proxy);
    // One token for the scope, cached for the second pull.
    expect(metrics.value('registry_proxy_upstream_token_fetches_total', { route: 'registry.example.com', result: 'ok' })).toBe(1);
  });

  it('registerCollector adds families at scrape time (the cache’s hook); clashing names are dropped', async () => {
    const { proxy } = setup();
    let hits = 0;
    proxy.registerCollector(() => [
      { name: 'registry_proxy_cache_hits', help: 'Cache hits.', type: 'counter', samples: [{ labels: {}, value: hits }] },
      { name: 'registry_proxy_cache_bytes', help: 'Bytes held.', type: 'gauge', unit: 'bytes', samples: [{ labels: {}, value: 1234 }] },
      { name: 'registry_proxy_inflight_requests', help: 'clash', type: 'gauge', samples: [{ labels: {}, value: 99 }] },
    ]);
    hits = 5;
    const { scrape: metrics } = await scrape(proxy);
    expect(metrics.value('registry_proxy_cache_hits_total')).toBe(5);
    expect(metrics.value('registry_proxy_cache_bytes')).toBe(1234);
    expect(metrics.value('registry_proxy_inflight_requests')).toBe(0);
  });

  it('metrics off: nothing is counted, /metrics answers 404, bodies are not wrapped', async () => {
    const { proxy, image } = setup({ metrics: false });
    const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`));
    expect((await bytesOf(response)).byteLength).toBe(5000);
    expect((await proxy.operations(new Request('http://m/metrics'))).status).toBe(404);
    expect(proxy.metrics()).toBe('\n');
  });
});
