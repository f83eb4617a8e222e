/**
 * Issue 4 (1): one proxy serving Docker Hub, GHCR, Artifact Registry and Quay mocks at once —
 * GHCR by request host and by path prefix, AR by path prefix with a repository prefix, Quay by
 * containerd's `ns`, Docker Hub as the default — with names mapped back wherever they appear.
 */
import { http } from 'msw';
import { describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../../lib/index.ts';
import type { RegistryProxyOptions } from '../../../lib/options/types.ts';
import { artifactRegistry, dockerHub, ghcr, quay, sha256 } from '../../upstreams/index.ts';
import { errorsOf, req, useMsw } from '../helpers/multi-upstream.ts';

const server = useMsw();

const ROUTES: RegistryProxyOptions['upstreams'] = [
  { upstream: 'ghcr.io', hosts: ['ghcr.example.com'] },
  { upstream: 'ghcr.io', pathPrefix: 'ghcr.io', name: 'ghcr-path', readOnly: false },
  { upstream: 'us-docker.pkg.dev', pathPrefix: 'ar', repositoryPrefix: 'my-project/my-repo' },
  { upstream: 'quay.io', namespaces: ['quay.io'] },
  { upstream: 'docker.io' },
];

function setup() {
  const hub = dockerHub();
  const gh = ghcr();
  const ar = artifactRegistry();
  const q = quay();
  server.use(...hub.handlers, ...gh.handlers, ...ar.handlers, ...q.handlers);
  const images = {
    alpine: hub.addImage('library/alpine', 'latest'),
    ghApp: gh.addImage('owner/app', 'v1'),
    arApp: ar.addImage('my-project/my-repo/app', 'v1'),
    quayApp: q.addImage('ns/app', 'v1'),
  };
  const proxy = createRegistryProxy({ upstreams: ROUTES });
  /** Registry-host requests (token and CDN hosts left out), as `METHOD URL`. */
  const upstreamCalls = () => ({
    hub: hub.requests.to('registry-1.docker.io').map((r) => `${r.method} ${r.url}`),
    ghcr: gh.requests.to('ghcr.io').filter((r) => r.path !== '/token').map((r) => `${r.method} ${r.url}`),
    ar: ar.requests.to('us-docker.pkg.dev').filter((r) => r.path !== '/v2/token').map((r) => `${r.method} ${r.url}`),
    quay: q.requests.to('quay.io').filter((r) => r.path !== '/v2/auth').map((r) => `${r.method} ${r.url}`),
  });
  return { hub, gh, ar, q, images, proxy, upstreamCalls };
}

/** Only the calls that fetched content (the proxy's discovery pings are left out). */
function content(calls: string[]): string[] {
  return calls.filter((call) => !call.endsWith('/v2/'));
}

describe('one proxy, four upstreams, by host, by path and by ns at once', () => {
  it('GHCR by host: ghcr.example.com/owner/app is ghcr.io/owner/app', async () => {
    const { images, proxy, upstreamCalls } = setup();
    const response = await req(proxy, 'GET /v2/owner/app/manifests/v1', { host: 'ghcr.example.com' });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(images.ghApp.manifest.digest);
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(images.ghApp.manifest.digest);
    const calls = upstreamCalls();
    expect(content(calls.ghcr)).toEqual(['GET https://ghcr.io/v2/owner/app/manifests/v1']);
    expect([calls.hub, calls.ar, calls.quay]).toEqual([[], [], []]);
  });

  it('the host route wins over the path prefix and the default: ghcr.example.com/alpine is GHCR\'s alpine', async () => {
    const { gh, proxy, upstreamCalls } = setup();
    const image = gh.addImage('alpine', 'latest');
    const response = await req(proxy, 'GET /v2/alpine/manifests/latest', { host: 'ghcr.example.com:8443' });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    expect(upstreamCalls().hub).toEqual([]);
  });

  it('GHCR by path: proxy/ghcr.io/owner/app is ghcr.io/owner/app, prefix removed', async () => {
    const { images, proxy, upstreamCalls } = setup();
    const response = await req(proxy, 'GET /v2/ghcr.io/owner/app/manifests/v1');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(images.ghApp.manifest.digest);
    const calls = upstreamCalls();
    expect(content(calls.ghcr)).toEqual(['GET https://ghcr.io/v2/owner/app/manifests/v1']);
    expect([calls.hub, calls.ar, calls.quay]).toEqual([[], [], []]);
  });

  it('Artifact Registry by path with a repository prefix: proxy/ar/app is my-project/my-repo/app', async () => {
    const { images, proxy, upstreamCalls } = setup();
    const response = await req(proxy, 'GET /v2/ar/app/manifests/v1');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(images.arApp.manifest.digest);
    expect(content(upstreamCalls().ar)).toEqual(['GET https://us-docker.pkg.dev/v2/my-project/my-repo/app/manifests/v1']);
  });

  it('Docker Hub by default, with library/ for official images', async () => {
    const { images, proxy, upstreamCalls } = setup();
    const response = await req(proxy, 'GET /v2/alpine/manifests/latest');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(images.alpine.manifest.digest);
    const calls = upstreamCalls();
    expect(content(calls.hub)).toEqual(['GET https://registry-1.docker.io/v2/library/alpine/manifests/latest']);
    expect([calls.ghcr, calls.ar, calls.quay]).toEqual([[], [], []]);
  });

  it('a name under no path prefix that is not the default route\'s falls to Docker Hub, not to a prefixed route', async () => {
    const { proxy, upstreamCalls } = setup();
    // `ar` alone, or `ghcr.io` alone, is not under the prefix: it is Hub's library/ar.
    const response = await req(proxy, 'GET /v2/ar/manifests/v1');
    expect(response.status).toBe(401);
    const calls = upstreamCalls();
    expect(content(calls.hub)).toEqual([
      'GET https://registry-1.docker.io/v2/library/ar/manifests/v1',
      'GET https://registry-1.docker.io/v2/library/ar/manifests/v1',
    ]);
    expect(calls.ar).toEqual([]);
  });

  it('Quay by containerd ns: the ns parameter is not sent upstream, and OCI-Namespace echoes it', async () => {
    const { images, proxy, upstreamCalls } = setup();
    const response = await req(proxy, 'GET /v2/ns/app/manifests/v1?ns=quay.io');
    expect(response.status).toBe(200);
    expect(response.headers.get('oci-namespace')).toBe('quay.io');
    expect(response.headers.get('docker-content-digest')).toBe(images.quayApp.manifest.digest);
    const calls = upstreamCalls();
    expect(content(calls.quay)).toEqual(['GET https://quay.io/v2/ns/app/manifests/v1']);
    expect(calls.hub).toEqual([]);
  });

  it('ns naming no route falls to the default (Docker Hub) without OCI-Namespace', async () => {
    const { images, proxy, upstreamCalls } = setup();
    const response = await req(proxy, 'GET /v2/alpine/manifests/latest?ns=docker.io');
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(images.alpine.manifest.digest);
    expect(response.headers.get('oci-namespace')).toBeNull();
    expect(content(upstreamCalls().hub)).toEqual(['GET https://registry-1.docker.io/v2/library/alpine/manifests/latest']);
  });

  it('answers the ping itself on every host: the proxy does each upstream dance, clients are not challenged', async () => {
    const { proxy, upstreamCalls } = setup();
    for (const host of ['proxy.example.com', 'ghcr.example.com']) {
      const response = await req(proxy, 'GET /v2/', { host });
      expect(response.status, host).toBe(200);
      expect(response.headers.get('www-authenticate'), host).toBeNull();
      expect(response.headers.get('docker-distribution-api-version'), host).toBe('registry/2.0');
    }
    expect(upstreamCalls()).toEqual({ hub: [], ghcr: [], ar: [], quay: [] });
  });
});

describe('names mapped back to the client, with the path prefix', () => {
  it('tags/list: name and Link carry ghcr.io/ on the path route, and not on the host route', async () => {
    const { gh, proxy } = setup();
    for (let i = 0; i < 101; i++) gh.addImage('owner/app', `t${String(i).padStart(3, '0')}`);

    const byPath = await req(proxy, 'GET /v2/ghcr.io/owner/app/tags/list');
    expect(byPath.status).toBe(200);
    expect(byPath.headers.get('link')).toBe('</v2/ghcr.io/owner/app/tags/list?last=t099&n=100>; rel="next"');
    const pathBody = (await byPath.json()) as { name: string; tags: string[] };
    expect(pathBody.name).toBe('ghcr.io/owner/app');
    expect(pathBody.tags).toHaveLength(100);

    const next = await req(proxy, 'GET /v2/ghcr.io/owner/app/tags/list?last=t099&n=100');
    expect(((await next.json()) as { tags: string[] }).tags).toEqual(['t100', 'v1']);

    const byHost = await req(proxy, 'GET /v2/owner/app/tags/list', { host: 'ghcr.example.com' });
    expect(byHost.headers.get('link')).toBe('</v2/owner/app/tags/list?last=t099&n=100>; rel="next"');
    expect(((await byHost.json()) as { name: string }).name).toBe('owner/app');
  });

  it('tags/list on AR: the repository prefix is removed and the path prefix added', async () => {
    const { proxy } = setup();
    const response = await req(proxy, 'GET /v2/ar/app/tags/list');
    expect(await response.json()).toEqual({ name: 'ar/app', tags: ['v1'] });
  });

  it('error details: AR\'s upstream name my-project/my-repo/app comes back as ar/app', async () => {
    const { proxy } = setup();
    const missing = `sha256:${'0'.repeat(64)}`;
    const response = await req(proxy, `GET /v2/ar/app/manifests/${missing}`);
    expect(response.status).toBe(404);
    expect(await errorsOf(response)).toEqual([
      { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Name: 'ar/app', Revision: missing } },
    ]);
  });

  it('error details: Docker Hub\'s library/nope comes back as nope', async () => {
    const { proxy } = setup();
    const response = await req(proxy, 'GET /v2/nope/manifests/latest');
    expect(response.status).toBe(401);
    // The upstream challenge is the proxy's business: it is not passed to clients.
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(await errorsOf(response)).toEqual([
      {
        code: 'UNAUTHORIZED',
        message: 'authentication required',
        detail: [{ Type: 'repository', Class: '', Name: 'nope', Action: 'pull' }],
      },
    ]);
  });

  it('AR\'s relative blob redirect becomes absolute on AR, not on the proxy', async () => {
    const { images, proxy } = setup();
    const response = await req(proxy, `GET /v2/ar/app/blobs/${images.arApp.config.digest}`);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toMatch(
      /^https:\/\/us-docker\.pkg\.dev\/artifacts-downloads\/namespaces\/my-project\/repositories\/my-repo\/downloads\/[A-Za-z0-9_-]{900,}$/,
    );
    const download = await fetch(response.headers.get('location')!);
    expect(sha256(new Uint8Array(await download.arrayBuffer()))).toBe(images.arApp.config.digest);
  });

  it('upload Location (relative and absolute) comes back under the path prefix, and the next PATCH is mapped again', async () => {
    const { gh, proxy } = setup();
    const seen: string[] = [];
    server.use(
      http.post('https://ghcr.io/v2/owner/app/blobs/uploads/', ({ request }) => {
        seen.push(`POST ${request.url}`);
        return new Response(null, {
          status: 202,
          headers: { location: '/v2/owner/app/blobs/uploads/abc-123?_state=s1', 'docker-upload-uuid': 'abc-123', range: '0-0' },
        });
      }),
      http.patch('https://ghcr.io/v2/owner/app/blobs/uploads/abc-123', async ({ request }) => {
        seen.push(`PATCH ${request.url} ${await request.text()}`);
        return new Response(null, {
          status: 202,
          headers: { location: 'https://ghcr.io/v2/owner/app/blobs/uploads/abc-123?_state=s2', range: '0-4' },
        });
      }),
    );
    const started = await req(proxy, 'POST /v2/ghcr.io/owner/app/blobs/uploads/');
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe('/v2/ghcr.io/owner/app/blobs/uploads/abc-123?_state=s1');
    const patched = await req(proxy, `PATCH ${started.headers.get('location')!}`, {
      body: 'hello',
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(patched.status).toBe(202);
    expect(patched.headers.get('location')).toBe('/v2/ghcr.io/owner/app/blobs/uploads/abc-123?_state=s2');
    expect(seen).toEqual([
      'POST https://ghcr.io/v2/owner/app/blobs/uploads/',
      'PATCH https://ghcr.io/v2/owner/app/blobs/uploads/abc-123?_state=s1 hello',
    ]);
    // The host route is read-only (the default): the same push there is refused before GHCR hears of it.
    const before = gh.requests.length;
    const refused = await req(proxy, 'POST /v2/owner/app/blobs/uploads/', { host: 'ghcr.example.com' });
    expect(refused.status).toBe(405);
    expect((await errorsOf(refused))[0]?.code).toBe('UNSUPPORTED');
    expect(gh.requests.length).toBe(before);
  });
});
