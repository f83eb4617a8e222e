/**
 * Issue 4 (3): token requests as real clients send them (upstreams.md §9.2, protocol.md §2) —
 * docker, containerd, containers/image (podman/skopeo), ggcr (crane), oras, regclient —
 * against the proxy's own token endpoint (`auth`) and the passthrough one (single upstream,
 * no `auth`, scopes mapped to the upstream's names).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { routeTokenId } from '../../lib/auth/client-auth.ts';
import { createRegistryProxy } from '../../lib/index.ts';
import type { RegistryProxyOptions } from '../../lib/options/types.ts';
import { parseWwwAuthenticate } from '../../lib/protocol/www-authenticate.ts';
import { distribution, dockerHub, MediaType } from '../upstreams/index.ts';
import { basic, claimsOf, req, testHash, tokenOf, useMsw } from './multi-helpers.ts';

const server = useMsw();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
/** The opaque ids the proxy binds tokens to, by route name (issue 9, defect 12). */
const routeIds: Record<string, string> = {};
beforeAll(async () => {
  for (const name of ['a', 'b', 'hub', 'other']) routeIds[name] = await routeTokenId(new TextEncoder().encode('shapes-secret-0123456789-0123456789'), name);
});

function challengeOf(response: Response): Record<string, string> {
  const [challenge] = parseWwwAuthenticate(response.headers.get('www-authenticate') ?? '');
  expect(challenge?.scheme).toBe('Bearer');
  return Object.fromEntries(challenge!.params);
}

/** The path and query of a realm on the proxy, with extra parameters appended as a client would. */
function realmPath(realm: string, params: [string, string][]): string {
  const url = new URL(realm);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url.pathname + url.search;
}

describe("the proxy's own token endpoint (auth)", () => {
  let auth: NonNullable<RegistryProxyOptions['auth']>;
  beforeAll(async () => {
    auth = { tokenSecret: 'shapes-secret-0123456789-0123456789', users: { alice: { passwordHash: await testHash('pw'), push: ['myorg/**'] } } };
  });

  function setup() {
    const hubLike = distribution({ auth: 'anonymous', origin: 'https://hub-like.test' });
    const other = distribution({ auth: 'anonymous', origin: 'https://other.test' });
    server.use(...hubLike.handlers, ...other.handlers);
    const alpine = hubLike.addImage('library/alpine', 'latest');
    const app = hubLike.addImage('myorg/app', 'v1');
    const otherAlpine = other.addImage('library/alpine', 'latest');
    const proxy = createRegistryProxy({
      auth,
      upstreams: [
        { upstream: hubLike.origin, name: 'hub', namespaces: ['docker.io'], officialImages: true, readOnly: false, anonymousPull: false },
        { upstream: other.origin, name: 'other' },
      ],
    });
    return { proxy, alpine, app, hubLike, other, otherAlpine };
  }

  it('docker: login GET (account, client_id=docker, offline_token=true, no scope), then a pull token with Basic', async () => {
    const { proxy, otherAlpine } = setup();
    const ping = await req(proxy, 'GET /v2/');
    const { realm, service } = challengeOf(ping);
    expect([realm, service]).toEqual(['http://proxy.example.com/_token', 'registry-proxy']);
    const login = await req(proxy, `GET ${realmPath(realm!, [['account', 'alice'], ['client_id', 'docker'], ['offline_token', 'true'], ['service', service!]])}`, {
      headers: { authorization: basic('alice', 'pw') },
    });
    expect(login.status).toBe(200);
    expect(claimsOf(await tokenOf(login))).toMatchObject({ sub: 'alice', access: [] });

    // The Docker client sends library/ itself and no ns: the default route.
    const scope = 'repository:library/alpine:pull';
    const token = await tokenOf(
      await req(proxy, `GET ${realmPath(realm!, [['account', 'alice'], ['scope', scope], ['service', service!]])}`, {
        headers: { authorization: basic('alice', 'pw') },
      }),
    );
    expect(claimsOf(token).access).toEqual([{ type: 'repository', name: `${routeIds.other}:library/alpine`, actions: ['pull'] }]);
    const manifest = await req(proxy, 'GET /v2/library/alpine/manifests/latest', { headers: { authorization: `Bearer ${token}` } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(otherAlpine.manifest.digest);
  });

  it('containerd: ?ns=docker.io routes, the challenge realm keeps ns, POST OAuth form with merged sorted scopes, OCI-Namespace echoed', async () => {
    const { proxy, app, hubLike, other } = setup();
    const challenged = await req(proxy, 'HEAD /v2/myorg/app/manifests/v1?ns=docker.io');
    expect(challenged.status).toBe(401);
    const { realm, service, scope } = challengeOf(challenged);
    expect(realm).toBe('http://proxy.example.com/_token?ns=docker.io');
    expect(scope).toBe('repository:myorg/app:pull');
    // containerd adds its own push scope to the challenge's, sorts, dedupes, space-joins for POST.
    const scopes = [...new Set([scope!, 'repository:myorg/app:pull,push'])].sort();
    const post = await req(proxy, `POST ${realmPath(realm!, [])}`, {
      headers: FORM,
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'alice',
        password: 'pw',
        scope: scopes.join(' '),
        service: service!,
        client_id: 'containerd-client',
        access_type: 'offline',
      }).toString(),
    });
    expect(post.status).toBe(200);
    const token = await tokenOf(post);
    expect(claimsOf(token).access).toEqual([
      { type: 'repository', name: `${routeIds.hub}:myorg/app`, actions: ['pull'] },
      { type: 'repository', name: `${routeIds.hub}:myorg/app`, actions: ['pull', 'push'] },
    ]);
    const manifest = await req(proxy, 'GET /v2/myorg/app/manifests/v1?ns=docker.io', { headers: { authorization: `Bearer ${token}` } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('oci-namespace')).toBe('docker.io');
    expect(manifest.headers.get('docker-content-digest')).toBe(app.manifest.digest);
    expect(hubLike.requests.filter((r) => r.path !== '/v2/').map((r) => r.url)).toEqual(['https://hub-like.test/v2/myorg/app/manifests/v1']);
    expect(other.requests).toEqual([]);
    // Without ns it is the other upstream's repository: the token does not cover it.
    expect((await req(proxy, 'GET /v2/myorg/app/manifests/v1', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('containerd without credentials: GET with repeated sorted scopes and ns; anonymousPull=false grants nothing', async () => {
    const { proxy } = setup();
    const response = await req(proxy, 'GET /_token?ns=docker.io&scope=repository%3Alibrary%2Falpine%3Apull&scope=repository%3Aalpine%3Apull&service=registry-proxy');
    expect(response.status).toBe(200);
    expect(claimsOf(await tokenOf(response)).access).toEqual([
      { type: 'repository', name: `${routeIds.hub}:library/alpine`, actions: [] },
      { type: 'repository', name: `${routeIds.hub}:alpine`, actions: [] },
    ]);
  });

  it('podman/skopeo: GET account+service+repeated scope with Basic, the API-version request header; the token works', async () => {
    const { proxy, alpine } = setup();
    const headers = { authorization: basic('alice', 'pw'), 'docker-distribution-api-version': 'registry/2.0' };
    const response = await req(
      proxy,
      'GET /_token?ns=docker.io&account=alice&scope=repository%3Aalpine%3Apull&scope=repository%3Amyorg%2Fapp%3Apull%2Cpush&service=registry-proxy',
      { headers },
    );
    const token = await tokenOf(response);
    expect(claimsOf(token).access).toEqual([
      { type: 'repository', name: `${routeIds.hub}:alpine`, actions: ['pull'] },
      { type: 'repository', name: `${routeIds.hub}:myorg/app`, actions: ['pull', 'push'] },
    ]);
    const manifest = await req(proxy, 'GET /v2/alpine/manifests/latest?ns=docker.io', {
      headers: { authorization: `Bearer ${token}`, 'docker-distribution-api-version': 'registry/2.0' },
    });
    expect(manifest.headers.get('docker-content-digest')).toBe(alpine.manifest.digest);
  });

  it('crane/ggcr: GET with Basic and the challenge scope prepended; then POST refresh_token with client_id=go-containerregistry', async () => {
    const { proxy } = setup();
    const first = await req(proxy, 'GET /_token?scope=repository%3Amyorg%2Fapp%3Apush%2Cpull&scope=repository%3Amyorg%2Fapp%3Apull&service=registry-proxy', {
      headers: { authorization: basic('alice', 'pw') },
    });
    const token = await tokenOf(first);
    expect(claimsOf(token).access).toEqual([
      { type: 'repository', name: `${routeIds.other}:myorg/app`, actions: ['pull'] }, // push,pull asked: the default route is read-only
      { type: 'repository', name: `${routeIds.other}:myorg/app`, actions: ['pull'] },
    ]);
    const refreshed = await req(proxy, 'POST /_token', {
      headers: FORM,
      body: 'grant_type=refresh_token&refresh_token=' + token + '&client_id=go-containerregistry&scope=repository%3Amyorg%2Fapp%3Apull&service=registry-proxy',
    });
    expect(refreshed.status).toBe(200);
    expect(claimsOf(await tokenOf(refreshed)).access).toEqual([{ type: 'repository', name: `${routeIds.other}:myorg/app`, actions: ['pull'] }]);
  });

  it('oras: POST grant_type=password with client_id=oras-go; regclient: GET with client_id=regclient', async () => {
    const { proxy } = setup();
    const oras = await req(proxy, 'POST /_token?ns=docker.io', {
      headers: FORM,
      body: 'grant_type=password&username=alice&password=pw&service=registry-proxy&client_id=oras-go&scope=repository%3Amyorg%2Fapp%3Apull%2Cpush',
    });
    expect(claimsOf(await tokenOf(oras)).access).toEqual([{ type: 'repository', name: `${routeIds.hub}:myorg/app`, actions: ['pull', 'push'] }]);
    const regclient = await req(proxy, 'GET /_token?client_id=regclient&scope=repository%3Alibrary%2Falpine%3Apull&service=registry-proxy', {
      headers: { authorization: basic('alice', 'pw') },
    });
    expect(claimsOf(await tokenOf(regclient)).access).toEqual([{ type: 'repository', name: `${routeIds.other}:library/alpine`, actions: ['pull'] }]);
  });

  it('refuses a POST with a wrong password (401) or an unknown grant_type (400)', async () => {
    const { proxy } = setup();
    const wrong = await req(proxy, 'POST /_token', { headers: FORM, body: 'grant_type=password&username=alice&password=nope&client_id=containerd-client&scope=' });
    expect(wrong.status).toBe(401);
    const odd = await req(proxy, 'POST /_token', { headers: FORM, body: 'grant_type=client_credentials&client_id=x' });
    expect(odd.status).toBe(400);
  });
});

describe('the passthrough token endpoint (single upstream, no auth)', () => {
  function setup() {
    const registry = distribution({ origin: 'https://registry.example.com', realm: 'https://auth.example.com/token' });
    server.use(...registry.handlers);
    registry.setCredentials('bob', 'pw');
    const app = registry.addImage('team/app', 'v1');
    const proxy = createRegistryProxy({ upstream: registry.origin, repositoryPrefix: 'team' });
    const tokenRequests = () => registry.requests.to('auth.example.com');
    return { registry, app, proxy, tokenRequests };
  }

  it('docker login: account, client_id, offline_token and Basic forwarded; the refresh token comes back', async () => {
    const { proxy, tokenRequests } = setup();
    const response = await req(proxy, 'GET /_token?account=bob&client_id=docker&offline_token=true&service=registry.example.com', {
      headers: { authorization: basic('bob', 'pw') },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'refresh_token', 'token']);
    const [sent] = tokenRequests();
    expect(sent?.method).toBe('GET');
    expect([...new URL(sent!.url).searchParams]).toEqual([
      ['account', 'bob'],
      ['client_id', 'docker'],
      ['offline_token', 'true'],
      ['service', 'registry.example.com'],
    ]);
    expect(sent?.headers.authorization).toBe(basic('bob', 'pw'));
  });

  it('containerd anonymous: ns on the registry request, repeated sorted scopes incl. the challenge\'s, all mapped once', async () => {
    const { proxy, app, tokenRequests } = setup();
    const challenged = await req(proxy, 'GET /v2/app/manifests/v1?ns=registry.example.com', { headers: { accept: MediaType.ociManifest } });
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('oci-namespace')).toBeNull(); // routed by the only upstream, not by ns
    const { realm, service, scope } = challengeOf(challenged);
    expect([realm, service, scope]).toEqual(['http://proxy.example.com/_token', 'registry.example.com', 'repository:app:pull']);
    const scopes = [...new Set([scope!, 'repository:app:pull', 'repository:base:pull'])].sort();
    const response = await req(proxy, `GET ${realmPath(realm!, [...scopes.map((s): [string, string] => ['scope', s]), ['service', service!]])}`);
    expect(response.status).toBe(200);
    expect([...new URL(tokenRequests()[0]!.url).searchParams]).toEqual([
      ['scope', 'repository:team/app:pull'],
      ['scope', 'repository:team/base:pull'],
      ['service', 'registry.example.com'],
    ]);
    const token = await tokenOf(response);
    const manifest = await req(proxy, 'GET /v2/app/manifests/v1?ns=registry.example.com', {
      headers: { authorization: `Bearer ${token}`, accept: MediaType.ociManifest },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(app.manifest.digest);
  });

  it('containerd with credentials: the POST form\'s space-separated scope is mapped, everything else forwarded', async () => {
    const { proxy, tokenRequests } = setup();
    const form = new URLSearchParams({
      access_type: 'offline',
      client_id: 'containerd-client',
      grant_type: 'password',
      password: 'pw',
      scope: 'repository:app:pull repository:app:pull,push',
      service: 'registry.example.com',
      username: 'bob',
    });
    const response = await req(proxy, 'POST /_token', { headers: FORM, body: form.toString() });
    expect(response.status).toBe(200);
    expect(Object.keys((await response.json()) as object).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'refresh_token', 'scope']);
    const sent = tokenRequests()[0]!;
    expect(sent.method).toBe('POST');
    expect(sent.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect([...new URLSearchParams(sent.body)]).toEqual([
      ['access_type', 'offline'],
      ['client_id', 'containerd-client'],
      ['grant_type', 'password'],
      ['password', 'pw'],
      ['scope', 'repository:team/app:pull repository:team/app:pull,push'],
      ['service', 'registry.example.com'],
      ['username', 'bob'],
    ]);
  });

  it('podman/skopeo, crane, regclient GETs; crane/oras POSTs: every scope mapped exactly once', async () => {
    const { proxy, tokenRequests } = setup();
    const cases: [string, RequestInit, [string, string][] | string][] = [
      [
        'GET /_token?account=bob&scope=repository%3Aapp%3Apull&service=registry.example.com',
        { headers: { authorization: basic('bob', 'pw'), 'docker-distribution-api-version': 'registry/2.0' } },
        [['account', 'bob'], ['scope', 'repository:team/app:pull'], ['service', 'registry.example.com']],
      ],
      [
        'GET /_token?scope=repository%3Aapp%3Apush%2Cpull&scope=repository%3Aapp%3Apull&service=registry.example.com',
        { headers: { authorization: basic('bob', 'pw') } },
        [['scope', 'repository:team/app:push,pull'], ['scope', 'repository:team/app:pull'], ['service', 'registry.example.com']],
      ],
      [
        'GET /_token?client_id=regclient&scope=repository%3Aapp%3Apull&service=registry.example.com',
        {},
        [['client_id', 'regclient'], ['scope', 'repository:team/app:pull'], ['service', 'registry.example.com']],
      ],
      [
        'POST /_token',
        { headers: FORM, body: 'grant_type=password&username=bob&password=pw&client_id=go-containerregistry&scope=repository%3Aapp%3Apull+repository%3Abase%3Apull&service=registry.example.com' },
        'grant_type=password&username=bob&password=pw&client_id=go-containerregistry&scope=repository%3Ateam%2Fapp%3Apull+repository%3Ateam%2Fbase%3Apull&service=registry.example.com',
      ],
      [
        'POST /_token',
        { headers: FORM, body: 'grant_type=password&username=bob&password=pw&service=registry.example.com&client_id=oras-go&scope=repository%3Aapp%3Apull%2Cpush' },
        'grant_type=password&username=bob&password=pw&service=registry.example.com&client_id=oras-go&scope=repository%3Ateam%2Fapp%3Apull%2Cpush',
      ],
    ];
    for (const [line, init, expected] of cases) {
      const before = tokenRequests().length;
      const response = await req(proxy, line, init);
      expect(response.status, line).toBe(200);
      const sent = tokenRequests()[before]!;
      if (typeof expected === 'string') expect(sent.body, line).toBe(expected);
      else expect([...new URL(sent.url).searchParams], line).toEqual(expected);
    }
  });

  it('Docker Hub: containerd\'s merged scopes get library/ once, and the token pulls alpine', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    const alpine = hub.addImage('library/alpine', 'latest');
    const proxy = createRegistryProxy({ upstream: 'docker.io' });
    const challenged = await req(proxy, 'GET /v2/alpine/manifests/latest?ns=docker.io');
    const { scope, service } = challengeOf(challenged);
    expect(scope).toBe('repository:alpine:pull');
    const response = await req(proxy, `GET /_token?scope=${encodeURIComponent(scope!)}&scope=repository%3Alibrary%2Falpine%3Apull&service=${service!}`);
    expect(response.status).toBe(200);
    expect(new URL(hub.requests.to('auth.docker.io')[0]!.url).searchParams.getAll('scope')).toEqual([
      'repository:library/alpine:pull',
      'repository:library/alpine:pull', // `library/alpine` is already Hub's name
    ]);
    const manifest = await req(proxy, 'GET /v2/alpine/manifests/latest?ns=docker.io', { headers: { authorization: `Bearer ${await tokenOf(response)}` } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(alpine.manifest.digest);
  });
});
