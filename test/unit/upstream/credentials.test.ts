/**
 * Proxy-held upstream credentials (`tokenDance: 'proxy'`): clients are never challenged, the
 * proxy fetches pull-only tokens itself, caches them for their lifetime, retries once on 401,
 * and neither the credentials nor its tokens ever reach a client or a CDN.
 */
import { describe, expect, it, vi } from 'vitest';
import { createRegistryProxy, type RegistryProxyOptions } from '../../../lib/index.ts';
import { dockerHub, ecrPublic, ghcr, MediaType } from '../../upstreams/index.ts';
import type { RecordedRequest } from '../../upstreams/index.ts';
import { basic, bytesOf, digestOf, everythingIn, queryOf, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();

const USER = 'alice';
const PASSWORD = 'hunter2-very-secret';
const accept = { accept: MediaType.ociManifest };

function privateHub(options: Partial<RegistryProxyOptions> = {}) {
  const hub = dockerHub();
  server.use(...hub.handlers);
  const image = hub.addImage('acme/private', 'v1', { layers: [3000] });
  hub.setPrivate('acme/private');
  hub.setCredentials(USER, PASSWORD);
  const proxy = createRegistryProxy({ upstream: 'docker.io', credentials: { username: USER, password: PASSWORD }, ...options });
  return { hub, image, proxy };
}

const tokenRequests = (hub: ReturnType<typeof dockerHub>) => hub.requests.to('auth.docker.io');
const manifestRequests = (mock: { requests: RecordedRequest[] }) => mock.requests.filter((r) => r.path.includes('/manifests/'));

/** The upstream tokens the proxy used, read from what the registry received. */
const bearerTokensSent = (mock: { requests: RecordedRequest[] }) =>
  mock.requests.map((r) => /^Bearer (.+)$/.exec(r.headers.authorization ?? '')?.[1]).filter((t): t is string => t !== undefined);

describe('proxy-held credentials: Docker Hub private repository', () => {
  it('does not challenge clients: GET /v2/ → 200 {} without asking the upstream', async () => {
    const { hub, proxy } = privateHub();
    const response = await proxy(req('GET /v2/'));
    expect(response.status).toBe(200);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
    expect(await response.text()).toBe('{}');
    expect(hub.requests).toEqual([]);
  });

  it('fetches one pull-only token with its Basic credentials and reuses it for later requests', async () => {
    const { hub, image, proxy } = privateHub();
    const first = await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }));
    expect(first.status).toBe(200);
    expect(await bytesOf(first)).toEqual(image.manifest.bytes);

    const tokens = tokenRequests(hub);
    expect(tokens).toHaveLength(1);
    expect(queryOf(tokens[0])).toEqual([
      ['service', 'registry.docker.io'],
      ['scope', 'repository:acme/private:pull'],
    ]);
    expect(tokens[0]!.headers.authorization).toBe(basic(USER, PASSWORD));

    const second = await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }));
    expect(second.status).toBe(200);
    const blob = await proxy(req(`GET /v2/acme/private/blobs/${image.config.digest}`));
    expect(blob.status).toBe(307);
    expect(tokenRequests(hub)).toHaveLength(1);
    // Discovery once, then the three registry requests with the same token.
    expect(hub.requests.filter((r) => r.host === 'registry-1.docker.io').map((r) => r.path)).toEqual([
      '/v2/',
      '/v2/acme/private/manifests/v1',
      '/v2/acme/private/manifests/v1',
      `/v2/acme/private/blobs/${image.config.digest}`,
    ]);
    expect(new Set(bearerTokensSent(hub)).size).toBe(1);
  });

  it('ignores the client Authorization: the upstream only ever sees the proxy token', async () => {
    const { hub, proxy } = privateHub();
    const response = await proxy(
      req('GET /v2/acme/private/manifests/v1', { headers: { ...accept, authorization: basic('mallory', 'guess') } }),
    );
    expect(response.status).toBe(200);
    const sent = manifestRequests(hub)[0]!.headers.authorization!;
    expect(sent).toMatch(/^Bearer /);
    expect(tokenRequests(hub)[0]!.headers.authorization).toBe(basic(USER, PASSWORD));
  });

  it('a literal Basic authorization works the same way', async () => {
    const literal = basic(USER, PASSWORD);
    const { hub, proxy } = privateHub({ credentials: { authorization: literal } });
    const response = await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }));
    expect(response.status).toBe(200);
    expect(tokenRequests(hub).map((r) => r.headers.authorization)).toEqual([literal]);
  });

  it('re-fetches the token once it is within 30 s of Hub\'s expires_in (300 s)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = new Date('2025-06-01T00:00:00Z').getTime();
    vi.setSystemTime(start);
    const { hub, proxy } = privateHub();
    const pull = async () => expect((await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }))).status).toBe(200);
    await pull();
    vi.setSystemTime(start + 269_000);
    await pull();
    expect(tokenRequests(hub)).toHaveLength(1);
    vi.setSystemTime(start + 271_000);
    await pull();
    expect(tokenRequests(hub)).toHaveLength(2);
  });

  it('retries once with a fresh token when the upstream says the token expired', async () => {
    const { hub, proxy } = privateHub();
    await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }));
    hub.expireTokens();
    const response = await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }));
    expect(response.status).toBe(200);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(tokenRequests(hub)).toHaveLength(2);
    const manifests = manifestRequests(hub).map((r) => r.headers.authorization);
    expect(manifests).toHaveLength(3);
    expect(manifests[1]).toBe(manifests[0]); // the expired one, refused
    expect(manifests[2]).not.toBe(manifests[1]);
  });

  it('retries only once: a repository the credentials cannot read ends in 401 with no challenge', async () => {
    const { hub, proxy } = privateHub();
    const response = await proxy(req('GET /v2/acme/other/manifests/v1', { headers: accept }));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBeNull();
    const text = await everythingIn(response);
    expect(text).not.toContain('auth.docker.io');
    expect(text).toContain('"Name":"acme/other"');
    expect(tokenRequests(hub)).toHaveLength(2);
    expect(manifestRequests(hub)).toHaveLength(2);
  });

  it('never shows the credentials or its upstream tokens to clients, nor sends them to the CDN', async () => {
    const { hub, image, proxy } = privateHub({ redirects: 'follow' });
    const seen: string[] = [];
    for (const request of [
      req('GET /v2/'),
      req('GET /v2/acme/private/manifests/v1', { headers: accept }),
      req('HEAD /v2/acme/private/manifests/v1', { headers: accept }),
      req(`GET /v2/acme/private/blobs/${image.layers[0]!.digest}`),
      req('GET /v2/acme/private/tags/list'),
      req('GET /v2/acme/missing/manifests/v1'),
      req('GET /_token?scope=repository:acme/private:pull&service=registry.docker.io'),
    ]) {
      const response = await proxy(request);
      seen.push(`${request.method} ${request.url} → ${response.status}\n${await everythingIn(response)}`);
    }
    const blobBody = await (await proxy(req(`GET /v2/acme/private/blobs/${image.layers[0]!.digest}`))).arrayBuffer();
    expect(digestOf(new Uint8Array(blobBody))).toBe(image.layers[0]!.digest);

    const secrets = [PASSWORD, basic(USER, PASSWORD).slice(6), ...new Set(bearerTokensSent(hub))];
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    const all = seen.join('\n');
    for (const secret of secrets) expect(all).not.toContain(secret);
    const cdn = hub.requests.to('production.cloudflare.docker.com');
    expect(cdn).toHaveLength(2);
    expect(cdn.every((r) => r.headers.authorization === undefined)).toBe(true);
  });

  it('its token endpoint is not used: /_token → 404 UNSUPPORTED without contacting anyone', async () => {
    const { hub, proxy } = privateHub();
    const response = await proxy(req('GET /_token?scope=repository:acme/private:pull&service=registry.docker.io'));
    expect(response.status).toBe(404);
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UNSUPPORTED');
    expect(hub.requests).toEqual([]);
  });

  it('without credentials the private repository is a 401 whose challenge points at the proxy only', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    hub.addImage('acme/private', 'v1');
    hub.setPrivate('acme/private');
    const proxy = createRegistryProxy({ upstream: 'docker.io' });
    const response = await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="registry.docker.io",scope="repository:acme/private:pull"',
    );
    expect(await everythingIn(response)).not.toContain('auth.docker.io');
  });
});

describe('proxy-held credentials: GHCR, providers, static Bearer', () => {
  function privateGhcr(credentials: RegistryProxyOptions['credentials']) {
    const gh = ghcr();
    server.use(...gh.handlers);
    const image = gh.addImage('acme/tool', 'v1');
    gh.setPrivate('acme/tool');
    gh.setCredentials('bot', 'ghp_secretpat');
    const proxy = createRegistryProxy({ upstream: 'ghcr.io', credentials });
    return { gh, image, proxy };
  }
  const ghcrTokens = (gh: ReturnType<typeof ghcr>) => gh.requests.filter((r) => r.path === '/token');

  it('GHCR sends no expires_in: the token is treated as valid for the spec default of 60 s', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = new Date('2025-06-01T00:00:00Z').getTime();
    vi.setSystemTime(start);
    const { gh, image, proxy } = privateGhcr({ username: 'bot', password: 'ghp_secretpat' });
    const pull = async () => {
      const response = await proxy(req('GET /v2/acme/tool/manifests/v1', { headers: accept }));
      expect(response.status).toBe(200);
      expect(response.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    };
    await pull();
    expect(queryOf(ghcrTokens(gh)[0])).toEqual([
      ['service', 'ghcr.io'],
      ['scope', 'repository:acme/tool:pull'],
    ]);
    vi.setSystemTime(start + 50_000);
    await pull();
    expect(ghcrTokens(gh)).toHaveLength(1);
    vi.setSystemTime(start + 61_000);
    await pull();
    expect(ghcrTokens(gh)).toHaveLength(2);
  });

  it('without credentials a private GHCR package is refused; the challenge leaks no upstream realm', async () => {
    const gh = ghcr();
    server.use(...gh.handlers);
    gh.addImage('acme/tool', 'v1');
    gh.setPrivate('acme/tool');
    const proxy = createRegistryProxy({ upstream: 'ghcr.io' });
    const response = await proxy(req('GET /v2/acme/tool/manifests/v1', { headers: accept }));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="ghcr.io",scope="repository:acme/tool:pull"',
    );
    expect(await everythingIn(response)).not.toContain('ghcr.io/token');
  });

  it('an async provider is asked for credentials and rotated values are used for the next token', async () => {
    let password = 'first-password';
    const provider = vi.fn(async () => ({ username: USER, password }));
    const { hub, proxy } = privateHub({ credentials: provider });
    hub.setCredentials(USER, 'first-password');
    expect((await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }))).status).toBe(200);
    expect(provider).toHaveBeenCalled();

    password = 'second-password';
    hub.setCredentials(USER, 'second-password');
    hub.expireTokens();
    const response = await proxy(req('GET /v2/acme/private/manifests/v1', { headers: accept }));
    expect(response.status).toBe(200);
    expect(tokenRequests(hub).map((r) => r.headers.authorization)).toEqual([
      basic(USER, 'first-password'),
      basic(USER, 'second-password'),
    ]);
  });

  it('a provider that fails is a 502 to the client, and nothing is sent upstream with bad credentials', async () => {
    const { gh, proxy } = privateGhcr(async () => {
      throw new Error('metadata server unavailable');
    });
    const response = await proxy(req('GET /v2/acme/tool/manifests/v1', { headers: accept }));
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({
      errors: [
        {
          code: 'UNAUTHORIZED',
          message: 'the proxy could not obtain its upstream credentials',
          detail: { reason: 'metadata server unavailable' },
        },
      ],
    });
    expect(ghcrTokens(gh)).toEqual([]);
    expect(manifestRequests(gh)).toEqual([]);
  });

  it('wrong credentials: the token server refusal becomes 403 DENIED that does not echo its body', async () => {
    const { gh, proxy } = privateGhcr({ username: 'bot', password: 'wrong-password' });
    const response = await proxy(req('GET /v2/acme/tool/manifests/v1', { headers: accept }));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toBeNull();
    const text = await everythingIn(response);
    expect(text).toContain(
      '{"errors":[{"code":"DENIED","message":"the upstream refused the proxy access to this repository (token server status 401)","detail":null}]}',
    );
    expect(text).not.toContain('wrong-password');
    expect(text).not.toContain('ghcr.io/token');
    expect(ghcrTokens(gh)).toHaveLength(1);
    expect(manifestRequests(gh)).toEqual([]);
  });

  it('a literal Bearer (ECR Public get-authorization-token) goes straight to the registry: no token request', async () => {
    const ecr = ecrPublic();
    server.use(...ecr.handlers);
    const image = ecr.addImage('docker/library/alpine', 'latest');
    const awsToken = ecr.issueAwsToken();
    const proxy = createRegistryProxy({ upstream: 'public.ecr.aws', credentials: { authorization: `Bearer ${awsToken}` } });
    const response = await proxy(req('GET /v2/docker/library/alpine/manifests/latest', { headers: accept }));
    expect(response.status).toBe(200);
    expect(await bytesOf(response)).toEqual(image.manifest.bytes);
    expect(ecr.requests.filter((r) => r.path === '/token/')).toEqual([]);
    expect(manifestRequests(ecr).map((r) => r.headers.authorization)).toEqual([`Bearer ${awsToken}`]);

    const blob = await proxy(req(`GET /v2/docker/library/alpine/blobs/${image.layers[0]!.digest}`));
    expect(blob.status).toBe(307);
    expect(await everythingIn(blob)).not.toContain(awsToken);
  });
});
