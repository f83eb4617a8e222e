/**
 * Issue 4 (4): allow/deny rules. Refused repositories and tags answer `403 DENIED` before the
 * upstream hears anything; blobs stay reachable through an allowed repository; tags/list hides
 * denied tags; referrers, mounts and token scopes obey the same rules.
 */
import { describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../../lib/index.ts';
import type { RegistryProxyOptions } from '../../../lib/options/types.ts';
import { distribution, dockerHub, ghcr, MediaType } from '../../upstreams/index.ts';
import { errorsOf, req, useMsw } from '../helpers/multi-upstream.ts';

const server = useMsw();

const RULES = {
  allow: [{ repository: 'myorg/**' }, { repository: 'public/base', tags: ['v*'] }],
  deny: [{ repository: '**', tags: ['latest'] }, { repository: 'myorg/secret/**' }],
} satisfies Partial<RegistryProxyOptions>;

function setup(extra: Partial<RegistryProxyOptions> = {}) {
  const registry = distribution({ auth: 'anonymous', referrers: 'supported' });
  server.use(...registry.handlers);
  const app = registry.addImage('myorg/app', 'v1');
  registry.addImage('myorg/app', 'latest', app);
  registry.addImage('myorg/app', 'v2');
  const other = registry.addImage('other/app', 'v1');
  const base = registry.addImage('public/base', 'v3');
  registry.addImage('public/base', 'edge', base);
  const secret = registry.addImage('myorg/secret/app', 'v1');
  const proxy = createRegistryProxy({ upstream: registry.origin, ...RULES, ...extra });
  return { registry, proxy, app, other, base, secret };
}

async function expectDenied(response: Response, detail: Record<string, string>): Promise<void> {
  expect(response.status).toBe(403);
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(await errorsOf(response)).toEqual([{ code: 'DENIED', message: 'access to this repository or tag is denied by the proxy', detail }]);
}

describe('refused with DENIED and no upstream call', () => {
  it('every read endpoint of a repository outside allow', async () => {
    const { registry, proxy, other } = setup();
    const digest = other.manifest.digest;
    const name = { name: 'other/app' };
    for (const [line, detail] of [
      ['GET /v2/other/app/manifests/v1', { ...name, tag: 'v1' }],
      ['HEAD /v2/other/app/manifests/v1', undefined],
      [`GET /v2/other/app/manifests/${digest}`, name],
      [`GET /v2/other/app/blobs/${other.layers[0]!.digest}`, name],
      [`HEAD /v2/other/app/blobs/${other.config.digest}`, undefined],
      ['GET /v2/other/app/tags/list', name],
      [`GET /v2/other/app/referrers/${digest}`, name],
    ] as const) {
      const response = await req(proxy, line);
      expect(response.status, line).toBe(403);
      if (detail) await expectDenied(response, detail);
    }
    expect(registry.requests).toEqual([]);
  });

  it('a repository under a deny rule without tags, even inside allow', async () => {
    const { registry, proxy, secret } = setup();
    await expectDenied(await req(proxy, 'GET /v2/myorg/secret/app/manifests/v1'), { name: 'myorg/secret/app', tag: 'v1' });
    await expectDenied(await req(proxy, `GET /v2/myorg/secret/app/blobs/${secret.config.digest}`), { name: 'myorg/secret/app' });
    expect(registry.requests).toEqual([]);
  });

  it('a denied tag of an allowed repository (GET and HEAD)', async () => {
    const { registry, proxy } = setup();
    await expectDenied(await req(proxy, 'GET /v2/myorg/app/manifests/latest'), { name: 'myorg/app', tag: 'latest' });
    expect((await req(proxy, 'HEAD /v2/myorg/app/manifests/latest')).status).toBe(403);
    expect(registry.requests).toEqual([]);
  });

  it('a tag outside a tag-limited allow rule', async () => {
    const { registry, proxy } = setup();
    await expectDenied(await req(proxy, 'GET /v2/public/base/manifests/edge'), { name: 'public/base', tag: 'edge' });
    expect(registry.requests).toEqual([]);
  });

  it('writes to a denied repository, and a mount whose source is denied', async () => {
    const { registry, proxy, other } = setup({ readOnly: false });
    await expectDenied(await req(proxy, 'POST /v2/other/app/blobs/uploads/'), { name: 'other/app' });
    await expectDenied(
      await req(proxy, `POST /v2/myorg/app/blobs/uploads/?mount=${other.layers[0]!.digest}&from=other/app`),
      { name: 'other/app' },
    );
    await expectDenied(
      await req(proxy, 'PUT /v2/myorg/app/manifests/latest', { body: '{}', headers: { 'content-type': MediaType.ociManifest } }),
      { name: 'myorg/app', tag: 'latest' },
    );
    await expectDenied(await req(proxy, 'DELETE /v2/myorg/app/manifests/latest'), { name: 'myorg/app', tag: 'latest' });
    expect(registry.requests).toEqual([]);
    // An allowed tag is passed on (this mock is pull-only and answers 405 itself).
    const allowed = await req(proxy, 'PUT /v2/myorg/app/manifests/v9', { body: '{}', headers: { 'content-type': MediaType.ociManifest } });
    expect(allowed.status).toBe(405);
    expect(registry.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /v2/myorg/app/manifests/v9']);
  });
});

describe('allowed', () => {
  it('an allowed tag, and the denied tag\'s image by digest (digests are never matched by tag rules)', async () => {
    const { registry, proxy, app } = setup();
    const byTag = await req(proxy, 'GET /v2/myorg/app/manifests/v1');
    expect(byTag.status).toBe(200);
    expect(byTag.headers.get('docker-content-digest')).toBe(app.manifest.digest);
    const byDigest = await req(proxy, `GET /v2/myorg/app/manifests/${app.manifest.digest}`);
    expect(byDigest.status).toBe(200);
    expect(registry.requests.map((r) => r.path)).toEqual(['/v2/myorg/app/manifests/v1', `/v2/myorg/app/manifests/${app.manifest.digest}`]);
  });

  it('blobs through an allowed repository, even a tag-limited one', async () => {
    const { proxy, app, base } = setup();
    const layer = await req(proxy, `GET /v2/myorg/app/blobs/${app.layers[0]!.digest}`);
    expect(layer.status).toBe(200);
    expect(new Uint8Array(await layer.arrayBuffer())).toEqual(app.layers[0]!.bytes);
    expect((await req(proxy, `GET /v2/public/base/blobs/${base.config.digest}`)).status).toBe(200);
    expect((await req(proxy, 'GET /v2/public/base/manifests/v3')).status).toBe(200);
  });

  it('tags/list leaves out denied tags', async () => {
    const { proxy } = setup();
    const listed = await req(proxy, 'GET /v2/myorg/app/tags/list');
    expect(listed.status).toBe(200);
    const text = await listed.text();
    expect(JSON.parse(text)).toEqual({ name: 'myorg/app', tags: ['v1', 'v2'] });
    expect(listed.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    expect(await (await req(proxy, 'GET /v2/public/base/tags/list')).json()).toEqual({ name: 'public/base', tags: ['v3'] });
  });

  it('referrers of an allowed repository', async () => {
    const { registry, proxy, app } = setup();
    const signature = registry.addImage('myorg/app', 'sig', { subject: app.descriptor, artifactType: 'application/example' });
    const response = await req(proxy, `GET /v2/myorg/app/referrers/${app.manifest.digest}`);
    expect(response.status).toBe(200);
    const index = (await response.json()) as { manifests: { digest: string }[] };
    expect(index.manifests.map((m) => m.digest)).toEqual([signature.manifest.digest]);
  });
});

describe('rules see the upstream route\'s names', () => {
  it('Docker Hub: library/ for official images', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    const alpine = hub.addImage('library/alpine', 'latest');
    const proxy = createRegistryProxy({
      upstreams: [{ upstream: 'docker.io', allow: [{ repository: 'library/*' }], credentials: { username: 'u', password: 'p' } }],
    });
    hub.setCredentials('u', 'p');
    const allowed = await req(proxy, 'GET /v2/alpine/manifests/latest');
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('docker-content-digest')).toBe(alpine.manifest.digest);
    hub.requests.clear();
    await expectDenied(await req(proxy, 'GET /v2/bitnami/redis/manifests/v1'), { name: 'bitnami/redis', tag: 'v1' });
    expect(hub.requests).toEqual([]);
  });

  it('a path-prefixed route: the path prefix is not part of the rule\'s name', async () => {
    const gh = ghcr();
    server.use(...gh.handlers);
    gh.addImage('owner/app', 'v1');
    gh.addImage('other/app', 'v1');
    const proxy = createRegistryProxy({
      upstreams: [{ upstream: 'ghcr.io', pathPrefix: 'gh', allow: [{ repository: 'owner/**' }] }, { upstream: 'docker.io' }],
    });
    expect((await req(proxy, 'GET /v2/gh/owner/app/manifests/v1')).status).toBe(200);
    gh.requests.clear();
    await expectDenied(await req(proxy, 'GET /v2/gh/other/app/manifests/v1'), { name: 'gh/other/app', tag: 'v1' });
    expect(gh.requests).toEqual([]);
  });
});

describe('token scopes (the client does the upstream dance)', () => {
  it('scopes for refused repositories never reach the upstream token server', async () => {
    const registry = distribution();
    server.use(...registry.handlers);
    registry.addImage('myorg/app', 'v1');
    const proxy = createRegistryProxy({ upstream: registry.origin, ...RULES });
    const response = await req(
      proxy,
      'GET /_token?service=registry.example.com&scope=repository:other/app:pull&scope=repository:myorg/app:pull&scope=repository:myorg/secret/x:pull,push',
    );
    expect(response.status).toBe(200);
    const tokenRequests = registry.requests.to('auth.example.com');
    expect(tokenRequests).toHaveLength(1);
    expect([...new URL(tokenRequests[0]!.url).searchParams]).toEqual([
      ['service', 'registry.example.com'],
      ['scope', 'repository:myorg/app:pull'],
    ]);
    expect(registry.requests.filter((r) => r.path.includes('other') || r.path.includes('secret'))).toEqual([]);
  });

  it('the OAuth POST form is filtered the same way', async () => {
    const registry = distribution();
    server.use(...registry.handlers);
    registry.setCredentials('bob', 'pw');
    const proxy = createRegistryProxy({ upstream: registry.origin, ...RULES });
    const form = new URLSearchParams({
      grant_type: 'password',
      username: 'bob',
      password: 'pw',
      service: 'registry.example.com',
      client_id: 'containerd-client',
      scope: 'repository:myorg/app:pull repository:other/app:pull',
    });
    const response = await req(proxy, 'POST /_token', {
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(response.status).toBe(200);
    const sent = new URLSearchParams(registry.requests.to('auth.example.com')[0]!.body);
    expect(sent.get('scope')).toBe('repository:myorg/app:pull');
  });
});
