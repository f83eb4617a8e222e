/**
 * Issue 4 (5): the proxy's own token endpoint never widens scopes. Users get the intersection
 * of what they ask, their globs and the route's rules; anonymous clients get pull only where
 * `anonymousPull`; tokens are bound to their upstream route; expired, tampered or foreign
 * tokens are `invalid_token`; a token lacking a scope is `insufficient_scope` with that scope.
 */
import { SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { routeTokenId } from '../../lib/auth/client-auth.ts';
import { createRegistryProxy } from '../../lib/index.ts';
import type { RegistryProxyOptions } from '../../lib/options/types.ts';
import { distribution } from '../upstreams/index.ts';
import { basic, claimsOf, errorsOf, req, testHash, tokenOf, useMsw } from './multi-helpers.ts';

const server = useMsw();
const SECRET = 'test-secret-0123456789-0123456789-abcdef';
/** The opaque ids the proxy binds tokens to, by route name (issue 9, defect 12). */
const routeIds: Record<string, string> = {};
beforeAll(async () => {
  for (const name of ['a', 'b', 'hub', 'other']) routeIds[name] = await routeTokenId(new TextEncoder().encode(SECRET), name);
});

let auth: NonNullable<RegistryProxyOptions['auth']>;
beforeAll(async () => {
  auth = {
    tokenSecret: SECRET,
    users: {
      alice: { passwordHash: await testHash('alice-pw'), push: ['myorg/**'] },
      bob: { passwordHash: await testHash('bob-pw') },
      carol: { passwordHash: await testHash('carol-pw'), pull: ['myorg/**'] },
    },
  };
});

function setup() {
  const a = distribution({ auth: 'anonymous', origin: 'https://a.registry.test' });
  const b = distribution({ auth: 'anonymous', origin: 'https://b.registry.test' });
  server.use(...a.handlers, ...b.handlers);
  const imageA = a.addImage('myorg/app', 'v1');
  const imageB = b.addImage('myorg/app', 'v1');
  const proxy = createRegistryProxy({
    auth,
    upstreams: [
      { upstream: b.origin, name: 'b', hosts: ['b.example.com'], anonymousPull: false },
      { upstream: a.origin, name: 'a', readOnly: false, deny: [{ repository: 'forbidden/**' }] },
    ],
  });
  /** Requests that reached a registry (the proxy's own `/v2/` discovery left out). */
  const reached = () => [...a.requests, ...b.requests].filter((r) => r.path !== '/v2/').map((r) => `${r.method} ${r.url}`);
  return { a, b, imageA, imageB, proxy, reached };
}

type Access = { type: string; name: string; actions: string[] };

async function grant(proxy: ReturnType<typeof setup>['proxy'], query: string, init: Parameters<typeof req>[2] = {}): Promise<Access[]> {
  const response = await req(proxy, `GET /_token?service=registry-proxy&${query}`, init);
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return claimsOf(await tokenOf(response)).access as Access[];
}

describe('the token endpoint grants the intersection, never more', () => {
  it('alice (push myorg/**) asking pull,push on other/x gets pull only; on myorg/app both', async () => {
    const { proxy, reached } = setup();
    const headers = { authorization: basic('alice', 'alice-pw') };
    expect(await grant(proxy, 'scope=repository:other/x:pull,push', { headers })).toEqual([
      { type: 'repository', name: `${routeIds.a}:other/x`, actions: ['pull'] },
    ]);
    expect(await grant(proxy, 'scope=repository:myorg/app:pull,push&scope=repository:forbidden/x:pull', { headers })).toEqual([
      { type: 'repository', name: `${routeIds.a}:myorg/app`, actions: ['pull', 'push'] },
      { type: 'repository', name: `${routeIds.a}:forbidden/x`, actions: [] },
    ]);
    expect(await grant(proxy, 'scope=repository:myorg/app:*', { headers })).toEqual([
      { type: 'repository', name: `${routeIds.a}:myorg/app`, actions: ['pull', 'push'] },
    ]);
    expect(reached()).toEqual([]);
  });

  it('bob (pull only) asking push gets pull; carol (pull myorg/**) gets nothing elsewhere', async () => {
    const { proxy } = setup();
    expect(await grant(proxy, 'scope=repository:myorg/app:pull,push', { headers: { authorization: basic('bob', 'bob-pw') } })).toEqual([
      { type: 'repository', name: `${routeIds.a}:myorg/app`, actions: ['pull'] },
    ]);
    expect(await grant(proxy, 'scope=repository:other/x:pull', { headers: { authorization: basic('carol', 'carol-pw') } })).toEqual([
      { type: 'repository', name: `${routeIds.a}:other/x`, actions: [] },
    ]);
  });

  it('anonymous: pull where anonymousPull (default), nothing where it is off, never push', async () => {
    const { proxy } = setup();
    expect(await grant(proxy, 'scope=repository:myorg/app:pull,push')).toEqual([{ type: 'repository', name: `${routeIds.a}:myorg/app`, actions: ['pull'] }]);
    expect(await grant(proxy, 'scope=repository:myorg/app:pull', { host: 'b.example.com' })).toEqual([
      { type: 'repository', name: `${routeIds.b}:myorg/app`, actions: [] },
    ]);
  });

  it('a token asking for a new token gets no more than it holds', async () => {
    const { proxy } = setup();
    const pullOnly = await tokenOf(
      await req(proxy, 'GET /_token?scope=repository:myorg/app:pull', { headers: { authorization: basic('alice', 'alice-pw') } }),
    );
    expect(await grant(proxy, 'scope=repository:myorg/app:pull,push', { headers: { authorization: `Bearer ${pullOnly}` } })).toEqual([
      { type: 'repository', name: `${routeIds.a}:myorg/app`, actions: ['pull'] },
    ]);
    // Nor through the OAuth refresh grant.
    const refreshed = await req(proxy, 'POST /_token', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pullOnly, client_id: 'containerd-client', scope: 'repository:myorg/app:pull,push' }).toString(),
    });
    expect(refreshed.status).toBe(200);
    expect(claimsOf(await tokenOf(refreshed)).access).toEqual([{ type: 'repository', name: `${routeIds.a}:myorg/app`, actions: ['pull'] }]);
  });

  it('non-repository scopes and invalid names are left out, not errors', async () => {
    const { proxy } = setup();
    const headers = { authorization: basic('alice', 'alice-pw') };
    expect(await grant(proxy, 'scope=registry:catalog:*&scope=repository:Bad Name:pull&scope=aws', { headers })).toEqual([]);
  });

  it('a wrong password, an unknown user, or garbage Basic is 401 UNAUTHORIZED', async () => {
    const { proxy } = setup();
    for (const authorization of [basic('alice', 'nope'), basic('mallory', 'alice-pw'), 'Basic !!!', 'Digest x']) {
      const response = await req(proxy, 'GET /_token?scope=repository:myorg/app:pull', { headers: { authorization } });
      expect(response.status, authorization).toBe(401);
      expect((await errorsOf(response))[0]?.code).toBe('UNAUTHORIZED');
    }
  });

  it('issues HS256 tokens for the configured service with the configured lifetime', async () => {
    const { proxy } = setup();
    const response = await req(proxy, 'GET /_token?scope=repository:myorg/app:pull', { headers: { authorization: basic('bob', 'bob-pw') } });
    const body = (await response.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(JSON.parse(Buffer.from(body.token.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = claimsOf(body.token);
    expect(claims).toMatchObject({ iss: 'registry-proxy', aud: 'registry-proxy', sub: 'bob' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    expect(Date.parse(body.issued_at) / 1000).toBeCloseTo(claims.iat as number, -1);
  });
});

describe('registry requests with the proxy\'s tokens', () => {
  async function tokenFor(proxy: ReturnType<typeof setup>['proxy'], user: string, scope: string, host?: string): Promise<string> {
    return tokenOf(
      await req(proxy, `GET /_token?scope=${scope}`, { headers: { authorization: basic(user, `${user}-pw`) }, ...(host ? { host } : {}) }),
    );
  }

  it('alice\'s push token pulls and pushes on its route', async () => {
    const { proxy, imageA, reached } = setup();
    const token = await tokenFor(proxy, 'alice', 'repository:myorg/app:pull,push');
    const manifest = await req(proxy, 'GET /v2/myorg/app/manifests/v1', { headers: { authorization: `Bearer ${token}` } });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(imageA.manifest.digest);
    // The mock registry is pull-only and answers the push itself (Go's 404): the proxy let it through.
    const push = await req(proxy, 'POST /v2/myorg/app/blobs/uploads/', { headers: { authorization: `Bearer ${token}` } });
    expect(push.status).toBe(404);
    expect(await push.text()).toBe('404 page not found\n');
    expect(reached()).toEqual([
      'GET https://a.registry.test/v2/myorg/app/manifests/v1',
      'POST https://a.registry.test/v2/myorg/app/blobs/uploads/',
    ]);
  });

  it('a token from one upstream route is no good on another, for the same client name', async () => {
    const { proxy, reached } = setup();
    const token = await tokenFor(proxy, 'alice', 'repository:myorg/app:pull,push');
    const response = await req(proxy, 'GET /v2/myorg/app/manifests/v1', { host: 'b.example.com', headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://b.example.com/_token",service="registry-proxy",scope="repository:myorg/app:pull",error="insufficient_scope"',
    );
    expect(await errorsOf(response)).toEqual([
      { code: 'UNAUTHORIZED', message: 'authentication required', detail: [{ Type: 'repository', Name: 'myorg/app', Action: 'pull' }] },
    ]);
    // …and the reverse.
    const bToken = await tokenFor(proxy, 'alice', 'repository:myorg/app:pull', 'b.example.com');
    expect(claimsOf(bToken).access).toEqual([{ type: 'repository', name: `${routeIds.b}:myorg/app`, actions: ['pull'] }]);
    expect((await req(proxy, 'GET /v2/myorg/app/manifests/v1', { headers: { authorization: `Bearer ${bToken}` } })).status).toBe(401);
    expect(reached()).toEqual([]);
  });

  it('a token lacking push: 401 insufficient_scope naming pull,push; nothing sent upstream', async () => {
    const { proxy, reached } = setup();
    const token = await tokenFor(proxy, 'bob', 'repository:myorg/app:pull,push');
    const response = await req(proxy, 'POST /v2/myorg/app/blobs/uploads/', { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.example.com/_token",service="registry-proxy",scope="repository:myorg/app:pull,push",error="insufficient_scope"',
    );
    // A token for another repository does not cover this one either.
    const other = await tokenFor(proxy, 'alice', 'repository:myorg/other:pull,push');
    const pull = await req(proxy, 'GET /v2/myorg/app/tags/list', { headers: { authorization: `Bearer ${other}` } });
    expect(pull.status).toBe(401);
    expect(pull.headers.get('www-authenticate')).toContain('scope="repository:myorg/app:pull",error="insufficient_scope"');
    expect(reached()).toEqual([]);
  });

  async function signed(claims: Record<string, unknown>, secret = SECRET, expiresAt = Math.floor(Date.now() / 1000) + 300): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('registry-proxy')
      .setAudience('registry-proxy')
      .setSubject('alice')
      .setIssuedAt(expiresAt - 300)
      .setExpirationTime(expiresAt)
      .sign(new TextEncoder().encode(secret));
  }
  const pushAccess = () => ({ access: [{ type: 'repository', name: `${routeIds.a}:myorg/app`, actions: ['pull', 'push'] }] });

  it.each([
    ['expired', () => signed(pushAccess(), SECRET, Math.floor(Date.now() / 1000) - 60)],
    ['signed with another secret', () => signed(pushAccess(), 'another-secret-0123456789-0123456789')],
    [
      'tampered (access widened, signature kept)',
      async () => {
        const [header, , signature] = (await signed({ access: [{ type: 'repository', name: `${routeIds.a}:myorg/app`, actions: ['pull'] }] })).split('.');
        const widened = Buffer.from(JSON.stringify({ ...pushAccess(), iss: 'registry-proxy', aud: 'registry-proxy', sub: 'alice', exp: 9999999999 })).toString('base64url');
        return `${header}.${widened}.${signature}`;
      },
    ],
    [
      'unsigned (alg none)',
      async () => {
        const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
        const claims = Buffer.from(JSON.stringify({ ...pushAccess(), iss: 'registry-proxy', aud: 'registry-proxy', sub: 'alice', exp: 9999999999 })).toString('base64url');
        return `${header}.${claims}.`;
      },
    ],
    ['for another service', () => new SignJWT(pushAccess()).setProtectedHeader({ alg: 'HS256' }).setIssuer('registry-proxy').setAudience('other').setExpirationTime('5m').sign(new TextEncoder().encode(SECRET))],
    ['garbage', async () => 'not-a-jwt'],
  ])('a token %s is 401 invalid_token, on pulls, pushes and the token endpoint', async (_label, make) => {
    const { proxy, reached } = setup();
    const token = await make();
    const headers = { authorization: `Bearer ${token}` };
    for (const line of ['GET /v2/myorg/app/manifests/v1', 'POST /v2/myorg/app/blobs/uploads/']) {
      const response = await req(proxy, line, { headers });
      expect(response.status, line).toBe(401);
      const pushing = line.startsWith('POST');
      expect(response.headers.get('www-authenticate'), line).toBe(
        `Bearer realm="http://proxy.example.com/_token",service="registry-proxy",scope="repository:myorg/app:${pushing ? 'pull,push' : 'pull'}",error="invalid_token"`,
      );
    }
    const ping = await req(proxy, 'GET /v2/', { headers });
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.example.com/_token",service="registry-proxy",error="invalid_token"');
    expect((await req(proxy, 'GET /_token?scope=repository:myorg/app:pull', { headers })).status).toBe(401);
    expect(reached()).toEqual([]);
  });

  it('a well-signed token with the grant works (the forged ones above fail for their flaw alone)', async () => {
    const { proxy } = setup();
    const token = await signed(pushAccess());
    expect((await req(proxy, 'GET /v2/myorg/app/manifests/v1', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});

describe('without a token', () => {
  it('the ping challenges anonymous clients (so clients with credentials send them), and accepts Basic', async () => {
    const { proxy } = setup();
    const anonymous = await req(proxy, 'GET /v2/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.example.com/_token",service="registry-proxy"');
    expect((await req(proxy, 'GET /v2/', { headers: { authorization: basic('bob', 'bob-pw') } })).status).toBe(200);
    const wrong = await req(proxy, 'GET /v2/', { headers: { authorization: basic('bob', 'wrong') } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('anonymous pulls where anonymousPull; challenged without an error where not; never anonymous pushes', async () => {
    const { proxy, imageA, reached } = setup();
    const pulled = await req(proxy, 'GET /v2/myorg/app/manifests/v1');
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get('docker-content-digest')).toBe(imageA.manifest.digest);
    const onB = await req(proxy, 'GET /v2/myorg/app/manifests/v1', { host: 'b.example.com' });
    expect(onB.status).toBe(401);
    expect(onB.headers.get('www-authenticate')).toBe('Bearer realm="http://b.example.com/_token",service="registry-proxy",scope="repository:myorg/app:pull"');
    const push = await req(proxy, 'POST /v2/myorg/app/blobs/uploads/');
    expect(push.status).toBe(401);
    expect(push.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.example.com/_token",service="registry-proxy",scope="repository:myorg/app:pull,push"',
    );
    expect(reached()).toEqual(['GET https://a.registry.test/v2/myorg/app/manifests/v1']);
  });

  it('Basic on registry requests: alice may push; bob is DENIED (403, credentials cannot help)', async () => {
    const { proxy, reached } = setup();
    const bob = await req(proxy, 'POST /v2/myorg/app/blobs/uploads/', { headers: { authorization: basic('bob', 'bob-pw') } });
    expect(bob.status).toBe(403);
    expect(await errorsOf(bob)).toEqual([{ code: 'DENIED', message: 'user bob may not push this repository', detail: { name: 'myorg/app' } }]);
    expect(reached()).toEqual([]);
    const alice = await req(proxy, 'POST /v2/myorg/app/blobs/uploads/', { headers: { authorization: basic('alice', 'alice-pw') } });
    expect(alice.status).toBe(404); // the pull-only mock's own answer: the proxy let alice through
    expect(await alice.text()).toBe('404 page not found\n');
    expect(reached()).toEqual(['POST https://a.registry.test/v2/myorg/app/blobs/uploads/']);
  });

  it('users are bound by the read-only switch and the rules too', async () => {
    const { proxy, reached } = setup();
    const onReadOnly = await req(proxy, 'POST /v2/myorg/app/blobs/uploads/', { host: 'b.example.com', headers: { authorization: basic('alice', 'alice-pw') } });
    expect(onReadOnly.status).toBe(405);
    expect((await errorsOf(onReadOnly))[0]).toMatchObject({ code: 'UNSUPPORTED', message: 'this registry proxy is read-only' });
    const denied = await req(proxy, 'GET /v2/forbidden/x/tags/list', { headers: { authorization: basic('alice', 'alice-pw') } });
    expect(denied.status).toBe(403);
    expect(reached()).toEqual([]);
  });
});

describe("tokens name their route by an opaque id, never the upstream's address (issue 9, defect 12)", () => {
  it('an unnamed route (named after its upstream host) puts no address in access[].name, and the token still works', async () => {
    const internal = distribution({ auth: 'anonymous', origin: 'https://10.1.2.3:5000' });
    server.use(...internal.handlers);
    internal.addImage('myorg/app', 'v1');
    const proxy = createRegistryProxy({ auth, upstream: internal.origin });
    const token = await tokenOf(await req(proxy, 'GET /_token?scope=repository:myorg/app:pull', { headers: { authorization: basic('alice', 'alice-pw') } }));
    const [entry] = claimsOf(token).access as Access[];
    expect(entry!.name).not.toContain('10.1.2.3');
    expect(entry!.name).toMatch(/^[0-9a-z]+:myorg\/app$/);
    expect(entry!.actions).toEqual(['pull']);
    const pulled = await req(proxy, 'GET /v2/myorg/app/manifests/v1', { headers: { authorization: `Bearer ${token}` } });
    expect(pulled.status).toBe(200);
  });
});
