/**
 * Failures: an unreachable or slow upstream becomes the proxy's own OCI error; upstream errors
 * pass through as the registry sent them (names mapped); broken bodies fail the client's read
 * instead of ending short; and the odd challenges real registries send are understood.
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it, vi } from 'vitest';
import { createRegistryProxy } from '../../../lib/index.ts';
import { distribution, dockerHub, ecrPublic, gcr, HUB_PULL_LIMIT_BODY, MediaType, quay } from '../../upstreams/index.ts';
import { basic, bearer, bytesOf, proxyToken, queryOf, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();

function anonymousRegistry(options: Parameters<typeof createRegistryProxy>[0] = {}) {
  const registry = distribution({ auth: 'anonymous' });
  server.use(...registry.handlers);
  const image = registry.addImage('app', 'v1', { layers: [4096] });
  const proxy = createRegistryProxy({ upstream: registry.origin, ...options });
  return { registry, image, proxy };
}

describe('upstream unreachable or slow', () => {
  it('a fetch that throws → 502 UPSTREAM_UNREACHABLE with the network cause', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 203.0.113.7:443'), { code: 'ECONNREFUSED' });
    const proxy = createRegistryProxy({
      upstream: 'https://registry.example.com',
      fetch: async () => {
        throw new TypeError('fetch failed', { cause });
      },
    });
    const response = await proxy(req('GET /v2/app/manifests/v1'));
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.text()).toBe(
      '{"errors":[{"code":"UPSTREAM_UNREACHABLE","message":"upstream registry.example.com could not be reached","detail":{"reason":"ECONNREFUSED: connect ECONNREFUSED 203.0.113.7:443"}}]}\n',
    );
  });

  it('a network error from msw (HttpResponse.error) → 502, on registry and token requests alike', async () => {
    server.use(http.all('https://down.example/*', () => HttpResponse.error()));
    const proxy = createRegistryProxy({ upstream: 'https://down.example' });
    for (const path of ['/v2/', '/v2/app/manifests/v1', `/v2/app/blobs/sha256:${'0'.repeat(64)}`, '/_token?scope=repository:app:pull']) {
      const response = await proxy(req(`GET ${path}`));
      expect(response.status, path).toBe(502);
      const body = (await response.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]).toMatchObject({ code: 'UPSTREAM_UNREACHABLE', message: 'upstream down.example could not be reached' });
    }
  });

  it('slow response headers → 504 UPSTREAM_TIMEOUT after timeouts.headers', async () => {
    const { registry, proxy } = anonymousRegistry({ timeouts: { headers: 50 } });
    registry.faults.slow('/manifests/', { headersMs: 2000 });
    const started = Date.now();
    const response = await proxy(req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest } }));
    expect(Date.now() - started).toBeLessThan(1500);
    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({
      errors: [{ code: 'UPSTREAM_TIMEOUT', message: 'upstream registry.example.com did not answer within 50 ms', detail: null }],
    });
  });

  it('the headers timeout does not bound the body: a body pausing longer still arrives whole', async () => {
    const { registry, image, proxy } = anonymousRegistry({ timeouts: { headers: 50, idle: 2000 } });
    registry.faults.slow('/blobs/', { stallAfterBytes: 10, stallMs: 200 });
    const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`));
    expect(response.status).toBe(200);
    expect(await bytesOf(response)).toEqual(image.layers[0]!.bytes);
  });
});

describe('upstream errors pass through', () => {
  function hub() {
    const mock = dockerHub();
    server.use(...mock.handlers);
    mock.addImage('library/alpine', 'latest');
    return { mock, proxy: createRegistryProxy({ upstream: 'docker.io' }) };
  }

  it('Hub MANIFEST_UNKNOWN byte for byte (DH-5)', async () => {
    const { proxy } = hub();
    const token = await proxyToken(proxy, 'scope=repository:alpine:pull&service=registry.docker.io');
    const response = await proxy(req('GET /v2/alpine/manifests/this-does-not-exist', { headers: bearer(token) }));
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('content-length')).toBe('109');
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await response.text()).toBe(
      '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"this-does-not-exist"}}]}\n',
    );
  });

  it('Hub pull-limit 429 JSON (DH-7) passes with its body and headers', async () => {
    const { mock, proxy } = hub();
    const token = await proxyToken(proxy, 'scope=repository:alpine:pull&service=registry.docker.io');
    mock.tooManyRequests('pull-limit');
    const response = await proxy(req('GET /v2/alpine/manifests/latest', { headers: { ...bearer(token), accept: MediaType.ociManifest } }));
    expect(response.status).toBe(429);
    expect(await response.text()).toBe(HUB_PULL_LIMIT_BODY);
    expect(response.headers.get('ratelimit-remaining')).toBe('0;w=21600');
    expect(response.headers.get('docker-ratelimit-source')).toBeNull();
  });

  it('Hub HAProxy 429 text/plain passes with Retry-After (hop-by-hop Connection dropped)', async () => {
    const { mock, proxy } = hub();
    mock.tooManyRequests('haproxy');
    const response = await proxy(req('GET /v2/alpine/manifests/latest'));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('60');
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('connection')).toBeNull();
    expect(await response.text()).toBe('Too Many Requests (HAP429).\n');
  });

  it('a 429 from the token server, when the proxy holds credentials, is a 429 TOOMANYREQUESTS with Retry-After', async () => {
    const mock = dockerHub();
    server.use(...mock.handlers);
    mock.addImage('library/alpine', 'latest');
    mock.faults.respond(
      (request) => new URL(request.url).host === 'auth.docker.io',
      () => new Response('Too Many Requests\n', { status: 429, headers: { 'retry-after': '30', 'content-type': 'text/plain' } }),
    );
    const proxy = createRegistryProxy({ upstream: 'docker.io', credentials: { username: 'u', password: 'p' } });
    const response = await proxy(req('GET /v2/alpine/manifests/latest'));
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('TOOMANYREQUESTS');
  });
});

describe('broken bodies fail the client read', () => {
  it('a truncated blob (connection reset after 100 bytes) makes reading the response reject', async () => {
    const { registry, image, proxy } = anonymousRegistry();
    registry.faults.truncate('/blobs/', { bytes: 100 });
    const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('4096');
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it('a body that ends cleanly short of its Content-Length is not passed on as a clean short body', async () => {
    for (const idle of [60_000, 0]) {
      const { registry, image, proxy } = anonymousRegistry({ timeouts: { idle } });
      registry.faults.truncate('/blobs/', { bytes: 100, mode: 'close' });
      const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`));
      expect(response.headers.get('content-length')).toBe('4096');
      await expect(response.arrayBuffer(), `idle ${idle}`).rejects.toThrow('upstream body ended after 100 of 4096 bytes');
    }
  });

  it('the same with the idle check off, and on a followed CDN download', async () => {
    const { registry, image, proxy } = anonymousRegistry({ timeouts: { idle: 0 } });
    registry.faults.truncate('/blobs/', { bytes: 100 });
    await expect((await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`))).arrayBuffer()).rejects.toThrow();

    const hub = dockerHub();
    server.use(...hub.handlers);
    const alpine = hub.addImage('library/alpine', 'latest', { layers: [4096] });
    hub.faults.truncate((request) => new URL(request.url).host === 'production.cloudflare.docker.com', { bytes: 1000 });
    const viaHub = createRegistryProxy({ upstream: 'docker.io', redirects: 'follow' });
    const token = await proxyToken(viaHub, 'scope=repository:alpine:pull&service=registry.docker.io');
    const response = await viaHub(req(`GET /v2/alpine/blobs/${alpine.layers[0]!.digest}`, { headers: bearer(token) }));
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow();
  });

  it('a body that stalls longer than timeouts.idle is errored, and onError hears about it', async () => {
    const onError = vi.fn();
    const { registry, image, proxy } = anonymousRegistry({ timeouts: { idle: 100 }, onError });
    registry.faults.slow('/blobs/', { stallAfterBytes: 10, stallMs: 3000 });
    const started = Date.now();
    const response = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`));
    expect(response.status).toBe(200);
    await expect(response.arrayBuffer()).rejects.toThrow('upstream body stalled for 100 ms');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(String(onError.mock.calls[0]![0])).toContain(`upstream body stalled for 100 ms: /v2/app/blobs/${image.layers[0]!.digest}`);
  });
});

describe('odd challenges of real registries', () => {
  it('ECR Public: scope="aws" kept, realm with a trailing slash used as is, repository scope prefixed', async () => {
    const ecr = ecrPublic();
    server.use(...ecr.handlers);
    const image = ecr.addImage('docker/library/alpine', 'latest');
    const proxy = createRegistryProxy({ upstream: 'public.ecr.aws', repositoryPrefix: 'docker/library' });
    const ping = await proxy(req('GET /v2/'));
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token",service="public.ecr.aws",scope="aws"');
    const challenged = await proxy(req('GET /v2/alpine/manifests/latest'));
    expect(challenged.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token",service="public.ecr.aws",scope="aws"');

    // containerd: its own scope plus the challenge's, sorted.
    const token = await proxyToken(proxy, 'scope=aws&scope=repository%3Aalpine%3Apull&service=public.ecr.aws');
    const tokenRequest = ecr.requests.find((r) => r.path.startsWith('/token'));
    expect(tokenRequest!.path).toBe('/token/');
    expect(queryOf(tokenRequest)).toEqual([
      ['scope', 'aws'],
      ['scope', 'repository:docker/library/alpine:pull'],
      ['service', 'public.ecr.aws'],
    ]);
    const manifest = await proxy(req('GET /v2/alpine/manifests/latest', { headers: { ...bearer(token), accept: MediaType.ociManifest } }));
    expect(manifest.status).toBe(200);
    expect(await bytesOf(manifest)).toEqual(image.manifest.bytes);
  });

  it('gcr.io: an unquoted service is understood, re-quoted for the client and used for the token', async () => {
    const g = gcr();
    server.use(...g.handlers);
    const image = g.addImage('mock-project/private', 'v1');
    g.setPrivate('mock-project/private');
    g.setCredentials('_json_key', 'key');
    const proxy = createRegistryProxy({ upstream: 'gcr.io' });
    const ping = await proxy(req('GET /v2/'));
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token",service="gcr.io"');
    const challenged = await proxy(req('GET /v2/mock-project/private/manifests/v1'));
    expect(challenged.status).toBe(401);
    // GCR-2: no scope on repository challenges either.
    expect(challenged.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token",service="gcr.io"');
    expect(await challenged.text()).toBe('{"errors":[{"code":"UNAUTHORIZED","message":"Unauthorized access."}]}\n');

    const token = await proxyToken(proxy, 'scope=repository%3Amock-project%2Fprivate%3Apull&service=gcr.io', {
      authorization: basic('_json_key', 'key'),
    });
    expect(g.requests.find((r) => r.path === '/v2/token')!.url).toBe(
      'https://gcr.io/v2/token?scope=repository%3Amock-project%2Fprivate%3Apull&service=gcr.io',
    );
    const manifest = await proxy(req('GET /v2/mock-project/private/manifests/v1', { headers: { ...bearer(token), accept: MediaType.dockerManifest } }));
    expect(manifest.status).toBe(200);
    expect(await bytesOf(manifest)).toEqual(image.manifest.bytes);
  });

  it('Quay: a no-scope challenge with a text/html "true" body passes untouched', async () => {
    const q = quay();
    server.use(...q.handlers);
    const proxy = createRegistryProxy({ upstream: 'quay.io' });
    const response = await proxy(req('GET /v2/'));
    expect(response.status).toBe(401);
    expect(response.statusText).toBe('UNAUTHORIZED');
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token",service="quay.io"');
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-length')).toBe('4');
    expect(await response.text()).toBe('true');
  });
});
