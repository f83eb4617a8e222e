/**
 * Name mapping with a repository prefix: the client's `app` is the upstream's
 * `<prefix>/app`, and every place a name appears (paths, challenge scopes, `Link`, tags/list
 * bodies, error details, upload `Location`) shows the client's name.
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../../lib/index.ts';
import { artifactRegistry, distribution, ghcr, MediaType, quay } from '../../upstreams/index.ts';
import type { RecordedRequest } from '../../upstreams/index.ts';
import { basic, bearer, bytesOf, proxyToken, queryOf, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();

function prefixedDistribution() {
  const registry = distribution({ auth: 'token' });
  server.use(...registry.handlers);
  const proxy = createRegistryProxy({ upstream: registry.origin, repositoryPrefix: 'team/project' });
  return { registry, proxy };
}

async function tokenFor(proxy: (request: Request) => Promise<Response>, name: string) {
  return proxyToken(proxy, `scope=${encodeURIComponent(`repository:${name}:pull`)}&service=registry.example.com`);
}

const registryPaths = (mock: { requests: RecordedRequest[] }) =>
  mock.requests.filter((r) => r.host === 'registry.example.com').map((r) => r.url.replace('https://registry.example.com', ''));

describe('distribution with token auth, repositoryPrefix team/project', () => {
  it('pulls manifest and blob under the prefixed upstream path', async () => {
    const { registry, proxy } = prefixedDistribution();
    const image = registry.addImage('team/project/app', 'v1');
    const token = await tokenFor(proxy, 'app');
    const manifest = await proxy(req('GET /v2/app/manifests/v1', { headers: { ...bearer(token), accept: MediaType.ociManifest } }));
    expect(manifest.status).toBe(200);
    expect(await bytesOf(manifest)).toEqual(image.manifest.bytes);
    const blob = await proxy(req(`GET /v2/app/blobs/${image.config.digest}`, { headers: bearer(token) }));
    expect(blob.status).toBe(200);
    expect(await bytesOf(blob)).toEqual(image.config.bytes);
    expect(registryPaths(registry)).toEqual(['/v2/', '/v2/team/project/app/manifests/v1', `/v2/team/project/app/blobs/${image.config.digest}`]);
  });

  it('maps the challenge scope and the error detail Name back to the client name', async () => {
    const { registry, proxy } = prefixedDistribution();
    registry.addImage('team/project/app', 'v1');
    const response = await proxy(req('GET /v2/app/manifests/v1'));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="registry.example.com",scope="repository:app:pull"',
    );
    const body = await response.text();
    expect(body).toBe(
      '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"app","Action":"pull"}]}]}\n',
    );
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
  });

  it('maps MANIFEST_UNKNOWN {Name, Revision} and NAME_UNKNOWN {name} details, leaving the rest as sent', async () => {
    const { registry, proxy } = prefixedDistribution();
    registry.addImage('team/project/app', 'v1');
    const digest = `sha256:${'ab'.repeat(32)}`;
    const token = await tokenFor(proxy, 'app');
    const unknownDigest = await proxy(req(`GET /v2/app/manifests/${digest}`, { headers: bearer(token) }));
    expect(unknownDigest.status).toBe(404);
    expect(await unknownDigest.text()).toBe(
      `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Name":"app","Revision":"${digest}"}}]}\n`,
    );
    const unknownTag = await proxy(req('GET /v2/app/manifests/nope', { headers: bearer(token) }));
    expect(await unknownTag.text()).toBe('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}\n');

    const otherToken = await tokenFor(proxy, 'missing');
    const tags = await proxy(req('GET /v2/missing/tags/list', { headers: bearer(otherToken) }));
    expect(tags.status).toBe(404);
    expect(await tags.text()).toBe(
      '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{"name":"missing"}}]}\n',
    );
  });

  it('rewrites tags/list: body name, and the relative Link, which then works through the proxy', async () => {
    const { registry, proxy } = prefixedDistribution();
    for (const tag of ['a', 'b', 'c']) registry.addImage('team/project/app', tag);
    const token = await tokenFor(proxy, 'app');
    const first = await proxy(req('GET /v2/app/tags/list?n=2', { headers: bearer(token) }));
    expect(first.status).toBe(200);
    expect(first.headers.get('link')).toBe('</v2/app/tags/list?last=b&n=2>; rel="next"');
    const body = await first.text();
    expect(body).toBe('{"name":"app","tags":["a","b"]}');
    expect(first.headers.get('content-length')).toBe(String(body.length));

    const next = /^<(.+)>; rel="next"$/.exec(first.headers.get('link')!)![1]!;
    const second = await proxy(req(`GET ${next}`, { headers: bearer(token) }));
    expect(await second.json()).toEqual({ name: 'app', tags: ['c'] });
    expect(second.headers.get('link')).toBeNull();
    expect(registryPaths(registry).filter((p) => p.includes('/tags/'))).toEqual([
      '/v2/team/project/app/tags/list?n=2',
      '/v2/team/project/app/tags/list?last=b&n=2',
    ]);
  });

  it('maps an upload Location (relative and absolute) and a mount source; the next PATCH is prefixed once', async () => {
    // The realistic mocks are pull-only (405 on writes), so this one endpoint is a small inline
    // handler answering as distribution does (202, relative Location with `_state`).
    const seen: string[] = [];
    const origin = 'https://uploads.example.com';
    server.use(
      http.post(`${origin}/v2/*`, ({ request }) => {
        seen.push(`POST ${request.url}`);
        const url = new URL(request.url);
        const absolute = url.searchParams.has('mount');
        const path = '/v2/team/project/app/blobs/uploads/6f1b3c?_state=opaque%3D%3D';
        return new HttpResponse(null, {
          status: 202,
          headers: {
            location: absolute ? origin + path : path,
            'docker-upload-uuid': '6f1b3c',
            range: '0-0',
            'content-length': '0',
          },
        });
      }),
      http.patch(`${origin}/v2/*`, ({ request }) => {
        seen.push(`PATCH ${request.url}`);
        return new HttpResponse(null, {
          status: 202,
          headers: { location: '/v2/team/project/app/blobs/uploads/6f1b3c?_state=next', range: '0-3', 'docker-upload-uuid': '6f1b3c' },
        });
      }),
    );
    const proxy = createRegistryProxy({ upstream: origin, repositoryPrefix: 'team/project', readOnly: false });

    const started = await proxy(req('POST /v2/app/blobs/uploads/'));
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe('/v2/app/blobs/uploads/6f1b3c?_state=opaque%3D%3D');
    expect(started.headers.get('docker-upload-uuid')).toBe('6f1b3c');
    expect(started.headers.get('range')).toBe('0-0');

    const digest = `sha256:${'cd'.repeat(32)}`;
    const mounted = await proxy(req(`POST /v2/app/blobs/uploads/?mount=${digest}&from=base/image`));
    expect(mounted.headers.get('location')).toBe('/v2/app/blobs/uploads/6f1b3c?_state=opaque%3D%3D');

    const patched = await proxy(
      req(`PATCH ${started.headers.get('location')}`, {
        body: new Uint8Array([1, 2, 3, 4]),
        headers: { 'content-type': 'application/octet-stream', 'content-range': '0-3', 'content-length': '4' },
        duplex: 'half',
      } as RequestInit),
    );
    expect(patched.status).toBe(202);
    expect(patched.headers.get('location')).toBe('/v2/app/blobs/uploads/6f1b3c?_state=next');
    expect(seen).toEqual([
      `POST ${origin}/v2/team/project/app/blobs/uploads/`,
      `POST ${origin}/v2/team/project/app/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=team%2Fproject%2Fbase%2Fimage`,
      `PATCH ${origin}/v2/team/project/app/blobs/uploads/6f1b3c?_state=opaque%3D%3D`,
    ]);
  });
});

describe('Artifact Registry, repositoryPrefix my-project/my-repo', () => {
  function setup() {
    const ar = artifactRegistry();
    server.use(...ar.handlers);
    const proxy = createRegistryProxy({ upstream: 'us-docker.pkg.dev', repositoryPrefix: 'my-project/my-repo' });
    return { ar, proxy };
  }

  it('pulls a public image anonymously under the prefix; the relative blob redirect becomes absolute on AR', async () => {
    const { ar, proxy } = setup();
    const image = ar.addImage('my-project/my-repo/app', 'latest');
    const manifest = await proxy(req('GET /v2/app/manifests/latest', { headers: { accept: MediaType.ociManifest } }));
    expect(manifest.status).toBe(200);
    expect(await bytesOf(manifest)).toEqual(image.manifest.bytes);
    const blob = await proxy(req(`GET /v2/app/blobs/${image.layers[0]!.digest}`));
    expect(blob.status).toBe(302);
    const location = blob.headers.get('location')!;
    expect(location).toMatch(/^https:\/\/us-docker\.pkg\.dev\/artifacts-downloads\/namespaces\/my-project\/repositories\/my-repo\/downloads\/[A-Za-z0-9_-]{1000}$/);
    expect(ar.requests.map((r) => r.path)).toEqual([
      '/v2/my-project/my-repo/app/manifests/latest',
      `/v2/my-project/my-repo/app/blobs/${image.layers[0]!.digest}`,
    ]);
  });

  it('a private image: challenge scope in client names, token scope prefixed, Basic passed through', async () => {
    const { ar, proxy } = setup();
    const image = ar.addImage('my-project/my-repo/app', 'v2');
    ar.setPrivate('my-project/my-repo/app');
    ar.setCredentials('_json_key', '{"type":"service_account"}');

    const ping = await proxy(req('GET /v2/'));
    // AR-1: no service on /v2/.
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token"');
    const challenged = await proxy(req('GET /v2/app/manifests/v2'));
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="us-docker.pkg.dev",scope="repository:app:pull"',
    );
    const credentials = basic('_json_key', '{"type":"service_account"}');
    const token = await proxyToken(proxy, 'scope=repository%3Aapp%3Apull&service=us-docker.pkg.dev', { authorization: credentials });
    const tokenRequest = ar.requests.find((r) => r.path === '/v2/token');
    expect(queryOf(tokenRequest)).toEqual([
      ['scope', 'repository:my-project/my-repo/app:pull'],
      ['service', 'us-docker.pkg.dev'],
    ]);
    expect(tokenRequest!.headers.authorization).toBe(credentials);
    const manifest = await proxy(req('GET /v2/app/manifests/v2', { headers: { ...bearer(token), accept: MediaType.ociManifest } }));
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
  });

  it('an anonymous token request for a private repository gets AR 403 with the upstream message', async () => {
    const { ar, proxy } = setup();
    ar.addImage('my-project/my-repo/app', 'v2');
    ar.setPrivate('my-project/my-repo/app');
    const response = await proxy(req('GET /_token?scope=repository%3Aapp%3Apull&service=us-docker.pkg.dev'));
    expect(response.status).toBe(403);
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('DENIED');
  });
});

describe('Link forms and foreign challenge scopes', () => {
  it('Quay: the modern relative Link (n before last) and the legacy absolute next_page Link', async () => {
    const q = quay();
    server.use(...q.handlers);
    for (const tag of ['a', 'b', 'c']) q.addImage('coreos/etcd', tag);
    const proxy = createRegistryProxy({ upstream: 'quay.io', repositoryPrefix: 'coreos' });

    const modern = await proxy(req('GET /v2/etcd/tags/list?n=2'));
    expect(modern.headers.get('link')).toBe('</v2/etcd/tags/list?n=2&last=b>; rel="next"');
    expect(await modern.json()).toEqual({ name: 'etcd', tags: ['a', 'b'] });

    q.legacyPagination = true;
    const legacy = await proxy(req('GET /v2/etcd/tags/list?n=2'));
    const link = legacy.headers.get('link')!;
    expect(link).toMatch(/^<\/v2\/etcd\/tags\/list\?next_page=gAAAAA[A-Za-z0-9_-]+&n=2>; rel="next"$/);
    const next = /^<(.+)>/.exec(link)![1]!;
    const second = await proxy(req(`GET ${next}`));
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual({ name: 'etcd', tags: ['c'] });
    const upstreamNext = q.requests.at(-1)!;
    expect(upstreamNext.url).toBe(`https://quay.io/v2/coreos${next.slice(3)}`);
  });

  it('a challenge scope outside the prefix (GHCR /v2/ placeholder) is dropped, not passed with upstream names', async () => {
    const gh = ghcr();
    server.use(...gh.handlers);
    const proxy = createRegistryProxy({ upstream: 'ghcr.io', repositoryPrefix: 'acme' });
    const ping = await proxy(req('GET /v2/'));
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="http://proxy.test/_token",service="ghcr.io"');
    // Without a prefix the placeholder names nothing the proxy hides, so it passes.
    const plain = createRegistryProxy({ upstream: 'ghcr.io' });
    expect((await plain(req('GET /v2/'))).headers.get('www-authenticate')).toBe(
      'Bearer realm="http://proxy.test/_token",service="ghcr.io",scope="repository:user/image:pull"',
    );
  });
});
