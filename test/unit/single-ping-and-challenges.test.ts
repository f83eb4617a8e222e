/**
 * The Docker Hub anonymous dance through the proxy, from the client's side: ping, rewritten
 * challenge, token through `/_token`, manifest, blob redirect (upstreams.md DH-1 … DH-8).
 */
import { describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../lib/index.ts';
import { dockerHub, HUB_PING_BODY, MediaType, sha256 } from '../upstreams/index.ts';
import { bearer, bytesOf, proxyToken, queryOf, req, useUpstreams } from './single-helpers.ts';

const server = useUpstreams();

function setup() {
  const hub = dockerHub();
  server.use(...hub.handlers);
  const proxy = createRegistryProxy({ upstream: 'docker.io' });
  return { hub, proxy };
}

describe('Docker Hub anonymous dance through the proxy', () => {
  it('GET /v2/ → 401 with the realm pointing at the proxy, service kept, Hub body unchanged', async () => {
    const { hub, proxy } = setup();
    const response = await proxy(req('GET /v2/'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token",service="registry.docker.io"');
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('content-length')).toBe('87');
    // HSTS describes the upstream's domain, not the proxy's.
    expect(response.headers.get('strict-transport-security')).toBeNull();
    expect(await response.text()).toBe(HUB_PING_BODY);
    expect(hub.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET https://registry-1.docker.io/v2/']);
  });

  it('HEAD /v2/ is answered like GET, without a body', async () => {
    const { proxy } = setup();
    const response = await proxy(req('HEAD /v2/'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token",service="registry.docker.io"');
    expect(response.body).toBeNull();
  });

  it('runs ping → token → manifest → blob with the client names and Hub upstream names', async () => {
    const { hub, proxy } = setup();
    const image = hub.addImage('library/alpine', 'latest', { layers: [2048] });

    await proxy(req('GET /v2/'));
    const tokenResponse = await proxy(req('GET /_token?service=registry.docker.io&scope=repository:alpine:pull'));
    expect(tokenResponse.status).toBe(200);
    expect(tokenResponse.headers.get('cache-control')).toBe('no-store');
    const tokenBody = (await tokenResponse.json()) as Record<string, unknown>;
    expect(Object.keys(tokenBody).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'token']);
    expect(tokenBody.expires_in).toBe(300);
    const token = tokenBody.token as string;
    const tokenRequest = hub.requests.to('auth.docker.io')[0];
    expect(queryOf(tokenRequest)).toEqual([
      ['service', 'registry.docker.io'],
      ['scope', 'repository:library/alpine:pull'],
    ]);

    const manifest = await proxy(
      req('GET /v2/alpine/manifests/latest', { headers: { ...bearer(token), accept: MediaType.ociManifest } }),
    );
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('content-type')).toBe(MediaType.ociManifest);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    expect(manifest.headers.get('content-length')).toBe(String(image.manifest.bytes.byteLength));
    expect(manifest.headers.get('etag')).toBe(`"${image.manifest.digest}"`);
    // Rate-limit headers pass; the source address (the proxy's egress IP) does not.
    expect(manifest.headers.get('ratelimit-limit')).toBe('100;w=21600');
    expect(manifest.headers.get('ratelimit-remaining')).toBe('99;w=21600');
    expect(manifest.headers.get('docker-ratelimit-source')).toBeNull();
    expect(await bytesOf(manifest)).toEqual(image.manifest.bytes);
    const manifestRequest = hub.requests.find((r) => r.path.endsWith('/manifests/latest'));
    expect(manifestRequest?.url).toBe('https://registry-1.docker.io/v2/library/alpine/manifests/latest');
    expect(manifestRequest?.headers.authorization).toBe(`Bearer ${token}`);

    const layer = image.layers[0]!;
    const blob = await proxy(req(`GET /v2/alpine/blobs/${layer.digest}`, { headers: bearer(token) }));
    expect(blob.status).toBe(307);
    expect(blob.headers.get('cache-control')).toBe('no-store');
    const location = blob.headers.get('location')!;
    expect(location).toMatch(
      new RegExp(`^https://production\\.cloudflare\\.docker\\.com/registry-v2/docker/registry/v2/blobs/sha256/${layer.digest.slice(7, 9)}/${layer.digest.slice(7)}/data\\?verify=\\d+-`),
    );
    expect(await blob.text()).toBe('');
    // The proxy did not follow the redirect (`pass` is the default): the client downloads from the CDN.
    expect(hub.requests.to('production.cloudflare.docker.com')).toEqual([]);
    const cdn = await fetch(location);
    expect(sha256(await bytesOf(cdn))).toBe(layer.digest);
  });

  it('maps challenge scopes back to client names (no library/) on a 401 manifest and in the error detail', async () => {
    const { hub, proxy } = setup();
    hub.addImage('library/alpine', 'latest');
    const response = await proxy(req('GET /v2/alpine/manifests/latest'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="registry.docker.io",scope="repository:alpine:pull"',
    );
    const body = await response.text();
    expect(body).toBe(
      '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"alpine","Action":"pull"}]}]}\n',
    );
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(hub.requests[0]?.path).toBe('/v2/library/alpine/manifests/latest');
  });

  it('keeps error="insufficient_scope" when the token does not cover the repository (DH-6)', async () => {
    const { hub, proxy } = setup();
    const token = await proxyToken(proxy, 'service=registry.docker.io&scope=repository:acme/secret:pull');
    expect(queryOf(hub.requests.to('auth.docker.io')[0])).toContainEqual(['scope', 'repository:acme/secret:pull']);
    const response = await proxy(req('GET /v2/acme/secret/manifests/latest', { headers: bearer(token) }));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="registry.docker.io",scope="repository:acme/secret:pull",error="insufficient_scope"',
    );
    expect(await response.text()).toBe(
      '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"acme/secret","Action":"pull"}]}]}\n',
    );
  });

  it('keeps error="invalid_token" for an expired token', async () => {
    const { hub, proxy } = setup();
    hub.addImage('library/alpine', 'latest');
    const token = await proxyToken(proxy, 'service=registry.docker.io&scope=repository:alpine:pull');
    hub.expireTokens();
    const response = await proxy(req('GET /v2/alpine/manifests/latest', { headers: bearer(token) }));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="registry.docker.io",scope="repository:alpine:pull",error="invalid_token"',
    );
  });

  it('uses publicUrl for the realm when configured', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    const proxy = createRegistryProxy({ upstream: 'docker.io', publicUrl: 'https://images.example.com/ignored' });
    const response = await proxy(req('GET /v2/'));
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="https://images.example.com/_token",service="registry.docker.io"');
  });

  it('does not take the realm host from X-Forwarded-Host unless told to trust it', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    const headers = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    const untrusting = createRegistryProxy({ upstream: 'docker.io' });
    expect((await untrusting(req('GET /v2/', { headers }))).headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="registry.docker.io"',
    );
    const trusting = createRegistryProxy({ upstream: 'docker.io', trustForwardedHeaders: true });
    expect((await trusting(req('GET /v2/', { headers }))).headers.get('www-authenticate')).toBe(
      'Bearer realm="https://evil.example/_token",service="registry.docker.io"',
    );
  });
});

describe('challenges are never cached for another client (issue 9, defect 13)', () => {
  it("the upstream's rewritten challenge: no-store, varying on Host and Authorization", async () => {
    const { proxy } = setup();
    for (const path of ['/v2/', '/v2/alpine/manifests/latest']) {
      const response = await proxy(req(`GET ${path}`));
      expect(response.status).toBe(401);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('vary')?.toLowerCase().split(/,\s*/)).toEqual(expect.arrayContaining(['host', 'authorization']));
    }
  });

  it("the proxy's own challenge too, and the forwarded headers it was built from when trusted", async () => {
    const proxy = createRegistryProxy({ upstream: 'docker.io', trustForwardedHeaders: true, auth: { users: {}, tokenSecret: 'x'.repeat(32), anonymousPull: false } as never });
    const response = await proxy(req('GET /v2/'));
    expect(response.status).toBe(401);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('vary')?.toLowerCase().split(/,\s*/)).toEqual(
      expect.arrayContaining(['host', 'authorization', 'x-forwarded-host', 'x-forwarded-proto']),
    );
  });
});
