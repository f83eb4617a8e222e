/**
 * The token endpoint the rewritten realm points clients at (`tokenDance: 'client'`): every
 * shape of token request real clients send (upstreams.md 9.2, protocol.md section 2), mapped
 * to upstream names and forwarded only to the realm the upstream announced.
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../lib/index.ts';
import { decodeJwtClaims, distribution, dockerHub, gcr, ghcr, GHCR_UNAUTHORIZED_BODY, MediaType } from '../upstreams/index.ts';
import type { RecordedRequest } from '../upstreams/index.ts';
import { basic, bearer, proxyToken, queryOf, req, useUpstreams } from './single-helpers.ts';

const server = useUpstreams();

function hubProxy() {
  const hub = dockerHub();
  server.use(...hub.handlers);
  return { hub, proxy: createRegistryProxy({ upstream: 'docker.io' }) };
}

function prefixedProxy() {
  const registry = distribution({ auth: 'token' });
  server.use(...registry.handlers);
  const proxy = createRegistryProxy({ upstream: registry.origin, repositoryPrefix: 'team/project' });
  return { registry, proxy };
}

const tokenRequests = (mock: { requests: RecordedRequest[] }, host: string, path: string) =>
  mock.requests.filter((r) => r.host === host && r.path === path);

/** containerd's GetTokenScopes: its own scopes plus the challenge's, sorted and deduplicated. */
function containerdScopes(own: string[], challenge: string | null): string[] {
  const scope = /scope="([^"]*)"/.exec(challenge ?? '')?.[1];
  return [...new Set([...own, ...(scope ? scope.split(' ') : [])])].sort();
}

describe('token requests: scope shapes (Docker Hub)', () => {
  it('maps every repeated GET scope parameter, keeping their order (containerd, c/image, ggcr)', async () => {
    const { hub, proxy } = hubProxy();
    hub.addImage('library/alpine', 'latest');
    hub.addImage('library/busybox', 'latest');
    const token = await proxyToken(
      proxy,
      'scope=repository%3Aalpine%3Apull&scope=repository%3Alibrary%2Fbusybox%3Apull&service=registry.docker.io',
    );
    expect(queryOf(hub.requests.to('auth.docker.io')[0])).toEqual([
      ['scope', 'repository:library/alpine:pull'],
      ['scope', 'repository:library/busybox:pull'],
      ['service', 'registry.docker.io'],
    ]);
    const claims = decodeJwtClaims(token) as { access: { name: string }[] };
    expect(claims.access.map((a) => a.name)).toEqual(['library/alpine', 'library/busybox']);
  });

  it('merges the challenge scope as containerd does without doubling library/', async () => {
    const { hub, proxy } = hubProxy();
    const image = hub.addImage('library/alpine', 'latest');
    const challenge = (await proxy(req('GET /v2/alpine/manifests/latest'))).headers.get('www-authenticate');
    const scopes = containerdScopes(['repository:alpine:pull'], challenge);
    expect(scopes).toEqual(['repository:alpine:pull']);
    const query = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&') + '&service=registry.docker.io';
    const token = await proxyToken(proxy, query);
    expect(queryOf(hub.requests.to('auth.docker.io')[0])).toEqual([
      ['scope', 'repository:library/alpine:pull'],
      ['service', 'registry.docker.io'],
    ]);
    const manifest = await proxy(req('GET /v2/alpine/manifests/latest', { headers: { ...bearer(token), accept: MediaType.ociManifest } }));
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
  });

  it('maps space-separated scopes inside one GET parameter', async () => {
    const { hub, proxy } = hubProxy();
    await proxyToken(proxy, `service=registry.docker.io&scope=${encodeURIComponent('repository:alpine:pull repository:acme/app:pull,push')}`);
    expect(queryOf(hub.requests.to('auth.docker.io')[0])).toEqual([
      ['service', 'registry.docker.io'],
      ['scope', 'repository:library/alpine:pull repository:acme/app:pull,push'],
    ]);
  });

  it('maps the scope of an OAuth2 POST form (containerd with credentials) and passes the rest as sent', async () => {
    const { hub, proxy } = hubProxy();
    hub.addImage('library/alpine', 'latest');
    hub.addImage('acme/private', 'v1');
    hub.setPrivate('acme/private');
    hub.setCredentials('alice', 's3cret');
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'alice',
      password: 's3cret',
      service: 'registry.docker.io',
      client_id: 'containerd-client',
      access_type: 'offline',
      scope: 'repository:alpine:pull repository:acme/private:pull',
    });
    const response = await proxy(
      req('POST /_token', { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'containerd/2.1.0' } }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(typeof body.access_token).toBe('string');
    expect(typeof body.refresh_token).toBe('string');
    expect(body.expires_in).toBe(300);

    const sent = hub.requests.to('auth.docker.io');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.method).toBe('POST');
    expect(sent[0]!.url).toBe('https://auth.docker.io/token');
    expect(sent[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(sent[0]!.headers['user-agent']).toBe('containerd/2.1.0');
    expect([...new URLSearchParams(sent[0]!.body)]).toEqual([
      ['grant_type', 'password'],
      ['username', 'alice'],
      ['password', 's3cret'],
      ['service', 'registry.docker.io'],
      ['client_id', 'containerd-client'],
      ['access_type', 'offline'],
      ['scope', 'repository:library/alpine:pull repository:acme/private:pull'],
    ]);
    const claims = decodeJwtClaims(body.access_token as string) as { access: { name: string }[]; sub: string };
    expect(claims.sub).toBe('alice');
    expect(claims.access.map((a) => a.name)).toEqual(['library/alpine', 'acme/private']);
  });

  it('docker login (no scope: account, client_id=docker, offline_token=true) passes with the client Basic credentials', async () => {
    const { hub, proxy } = hubProxy();
    hub.setCredentials('alice', 's3cret');
    const response = await proxy(
      req('GET /_token?account=alice&client_id=docker&offline_token=true&service=registry.docker.io', {
        headers: { authorization: basic('alice', 's3cret'), cookie: 'session=abc' },
      }),
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'refresh_token', 'token']);
    const sent = hub.requests.to('auth.docker.io')[0];
    expect(queryOf(sent)).toEqual([
      ['account', 'alice'],
      ['client_id', 'docker'],
      ['offline_token', 'true'],
      ['service', 'registry.docker.io'],
    ]);
    expect(sent!.headers.authorization).toBe(basic('alice', 's3cret'));
    expect(sent!.headers.cookie).toBeUndefined();
    expect(decodeJwtClaims(body.token as string).sub).toBe('alice');
  });

  it('wrong client credentials: the token server 401 passes through', async () => {
    const { hub, proxy } = hubProxy();
    hub.setCredentials('alice', 's3cret');
    const response = await proxy(
      req('GET /_token?account=alice&service=registry.docker.io&scope=repository:alpine:pull', { headers: { authorization: basic('alice', 'wrong') } }),
    );
    expect(response.status).toBe(401);
    expect(await response.text()).toBe('{"details":"incorrect username or password"}\n');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('drops an empty scope= instead of sending it (gcr.io answers 400 "Invalid scope" to it)', async () => {
    const registry = gcr();
    server.use(...registry.handlers);
    const proxy = createRegistryProxy({ upstream: 'gcr.io' });
    await proxy(req('GET /v2/'));
    const response = await proxy(req('GET /_token?scope=&service=gcr.io'));
    expect(response.status).toBe(200);
    expect(queryOf(registry.requests.find((r) => r.path === '/v2/token'))).toEqual([['service', 'gcr.io']]);
  });
});

describe('token requests: where they go', () => {
  it('learns the realm from a challenge the proxy passed on: no extra /v2/ request', async () => {
    const { hub, proxy } = hubProxy();
    await proxy(req('GET /v2/alpine/manifests/latest'));
    await proxyToken(proxy, 'service=registry.docker.io&scope=repository:alpine:pull');
    expect(hub.requests.map((r) => `${r.host}${r.path}`)).toEqual([
      'registry-1.docker.io/v2/library/alpine/manifests/latest',
      'auth.docker.io/token',
    ]);
  });

  it('discovers the realm by pinging /v2/ when the proxy never saw a challenge (e.g. after a restart)', async () => {
    const { hub, proxy } = hubProxy();
    await proxyToken(proxy, 'service=registry.docker.io&scope=repository:alpine:pull');
    await proxyToken(proxy, 'service=registry.docker.io&scope=repository:alpine:pull');
    expect(hub.requests.map((r) => `${r.method} ${r.host}${r.path}`)).toEqual([
      'GET registry-1.docker.io/v2/',
      'GET auth.docker.io/token',
      'GET auth.docker.io/token',
    ]);
  });

  it('never forwards to a host the client names (realm=, Host, URL host, X-Forwarded-Host)', async () => {
    const { hub } = hubProxy();
    const evil: string[] = [];
    server.use(
      http.all('https://evil.example/*', ({ request }) => {
        evil.push(request.url);
        return HttpResponse.json({ token: 'stolen' });
      }),
      http.all('http://evil.example/*', ({ request }) => {
        evil.push(request.url);
        return HttpResponse.json({ token: 'stolen' });
      }),
    );
    const proxy = createRegistryProxy({ upstream: 'docker.io' });
    const response = await proxy(
      new Request('http://evil.example/_token?realm=https%3A%2F%2Fevil.example%2Ftoken&service=evil.example&scope=repository:alpine:pull', {
        headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
      }),
    );
    expect(response.status).toBe(200);
    expect(evil).toEqual([]);
    const sent = hub.requests.to('auth.docker.io');
    expect(sent).toHaveLength(1);
    expect(new URL(sent[0]!.url).origin + new URL(sent[0]!.url).pathname).toBe('https://auth.docker.io/token');
  });

  it('a token server refusal passes through without the upstream challenge (GHCR private package)', async () => {
    const registry = ghcr();
    server.use(...registry.handlers);
    registry.addImage('acme/private', 'v1');
    registry.setPrivate('acme/private');
    const proxy = createRegistryProxy({ upstream: 'ghcr.io' });
    const challenged = await proxy(req('GET /v2/acme/private/manifests/v1'));
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="ghcr.io",scope="repository:acme/private:pull"',
    );
    const response = await proxy(req('GET /_token?scope=repository:acme/private:pull&service=ghcr.io'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(await response.text()).toBe(GHCR_UNAUTHORIZED_BODY);
  });
});

describe('token requests with a repository prefix (distribution + token server)', () => {
  it('prefixes the challenge scope containerd sends back exactly once', async () => {
    const { registry, proxy } = prefixedProxy();
    const image = registry.addImage('team/project/app', 'v1');
    const challenged = await proxy(req('GET /v2/app/manifests/v1', { headers: { accept: MediaType.ociManifest } }));
    expect(challenged.status).toBe(401);
    const challenge = challenged.headers.get('www-authenticate');
    expect(challenge).toBe('Bearer realm="http://proxy.test/_token",service="registry.example.com",scope="repository:app:pull"');

    const scopes = containerdScopes(['repository:app:pull'], challenge);
    const token = await proxyToken(proxy, `${scopes.map((s) => `scope=${encodeURIComponent(s)}`).join('&')}&service=registry.example.com`);
    expect(queryOf(tokenRequests(registry, 'auth.example.com', '/token')[0])).toEqual([
      ['scope', 'repository:team/project/app:pull'],
      ['service', 'registry.example.com'],
    ]);
    const manifest = await proxy(req('GET /v2/app/manifests/v1', { headers: { ...bearer(token), accept: MediaType.ociManifest } }));
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
  });

  it('prefixes every scope of a GET and of a POST form once; non-repository scopes pass unchanged', async () => {
    const { registry, proxy } = prefixedProxy();
    registry.setCredentials('bob', 'pw');
    await proxyToken(
      proxy,
      'scope=repository%3Aapp%3Apull%2Cpush&scope=repository%3Atools%2Fcli%3Apull&scope=registry%3Acatalog%3A*&service=registry.example.com',
    );
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'bob',
      password: 'pw',
      client_id: 'containerd-client',
      scope: 'repository:app:pull repository:tools/cli:pull registry:catalog:*',
    });
    const posted = await proxy(req('POST /_token', { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect(posted.status).toBe(200);
    const [get, post] = tokenRequests(registry, 'auth.example.com', '/token');
    expect(queryOf(get)).toEqual([
      ['scope', 'repository:team/project/app:pull,push'],
      ['scope', 'repository:team/project/tools/cli:pull'],
      ['scope', 'registry:catalog:*'],
      ['service', 'registry.example.com'],
    ]);
    expect(new URLSearchParams(post!.body).get('scope')).toBe(
      'repository:team/project/app:pull repository:team/project/tools/cli:pull registry:catalog:*',
    );
  });

  it('maps every repeated scope field of a POST form, as repeated GET parameters are (issue 9, defect 11)', async () => {
    const { registry, proxy } = prefixedProxy();
    registry.setCredentials('bob', 'pw');
    const form = new URLSearchParams([
      ['grant_type', 'password'],
      ['username', 'bob'],
      ['password', 'pw'],
      ['client_id', 'containerd-client'],
      ['scope', 'repository:app:pull'],
      ['scope', 'repository:tools/cli:pull'],
    ]);
    const posted = await proxy(req('POST /_token', { body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect(posted.status).toBe(200);
    const [post] = tokenRequests(registry, 'auth.example.com', '/token');
    expect(new URLSearchParams(post!.body).getAll('scope')).toEqual([
      'repository:team/project/app:pull',
      'repository:team/project/tools/cli:pull',
    ]);
  });

  it('refuses a scope whose name is invalid before anything goes upstream', async () => {
    const { registry, proxy } = prefixedProxy();
    const response = await proxy(req('GET /_token?scope=repository:..%2Fother:pull&service=registry.example.com'));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('NAME_INVALID');
    expect(registry.requests).toEqual([]);
  });
});
