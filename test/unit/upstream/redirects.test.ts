/**
 * Upstream redirects (upstreams.md 9.4 and each registry's blob section): `pass` hands them to
 * the client, absolute and uncached; `follow` fetches the target and streams it, never carrying
 * the registry credential to another origin (the CDN mocks refuse any `Authorization`).
 */
import { http, HttpResponse } from 'msw';
import { describe, expect, it } from 'vitest';
import { createRegistryProxy, type RedirectPolicy } from '../../../lib/index.ts';
import { artifactRegistry, dockerHub, gcr, ghcr, MediaType, quay, registryK8s } from '../../upstreams/index.ts';
import { basic, bearer, bytesOf, digestOf, proxyToken, req, useUpstreams } from '../helpers/single-upstream.ts';

const server = useUpstreams();

function hub(redirects: RedirectPolicy) {
  const mock = dockerHub();
  server.use(...mock.handlers);
  const image = mock.addImage('library/alpine', 'latest', { layers: [4096] });
  const proxy = createRegistryProxy({ upstream: 'docker.io', redirects });
  return { mock, image, proxy };
}

describe('redirects: pass', () => {
  it('Docker Hub 307 to the Cloudflare CDN, absolute, empty body, not cacheable', async () => {
    const { image, proxy } = hub('pass');
    const token = await proxyToken(proxy, 'scope=repository:alpine:pull&service=registry.docker.io');
    const response = await proxy(req(`GET /v2/alpine/blobs/${image.layers[0]!.digest}`, { headers: bearer(token) }));
    expect(response.status).toBe(307);
    expect(new URL(response.headers.get('location')!).host).toBe('production.cloudflare.docker.com');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-length')).toBe('0');
    expect(await response.text()).toBe('');
  });

  it('GHCR 307 to pkg-containers.githubusercontent.com', async () => {
    const gh = ghcr();
    server.use(...gh.handlers);
    const image = gh.addImage('owner/app', 'latest');
    const proxy = createRegistryProxy({ upstream: 'ghcr.io' });
    const token = await proxyToken(proxy, 'scope=repository:owner/app:pull&service=ghcr.io');
    const response = await proxy(req(`GET /v2/owner/app/blobs/${image.layers[0]!.digest}`, { headers: bearer(token) }));
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toMatch(
      new RegExp(`^https://pkg-containers\\.githubusercontent\\.com/ghcr1/blobs/${image.layers[0]!.digest}\\?se=.+&sig=.+&sp=r&spr=https&sr=b&sv=2019-12-12$`),
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(gh.requests.to('pkg-containers.githubusercontent.com')).toEqual([]);
  });

  it('gcr.io 302 to GCS keeps its {"errors":[]} JSON body; Cache-Control: private becomes no-store', async () => {
    const g = gcr();
    server.use(...g.handlers);
    const image = g.addImage('mock-project/app', 'v1');
    const proxy = createRegistryProxy({ upstream: 'gcr.io' });
    const response = await proxy(req(`GET /v2/mock-project/app/blobs/${image.layers[0]!.digest}`));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(
      `https://storage.googleapis.com/artifacts.mock-project.appspot.com/containers/images/${image.layers[0]!.digest}`,
    );
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe('{"errors":[]}');
  });

  it('Artifact Registry relative /artifacts-downloads/… is made absolute against the upstream, not the proxy', async () => {
    const ar = artifactRegistry({ location: 'europe-west1' });
    server.use(...ar.handlers);
    const image = ar.addImage('proj/repo/app', 'v1');
    const proxy = createRegistryProxy({ upstream: 'europe-west1-docker.pkg.dev' });
    const response = await proxy(req(`GET /v2/proj/repo/app/blobs/${image.layers[0]!.digest}`));
    expect(response.status).toBe(302);
    const location = response.headers.get('location')!;
    expect(location).toMatch(/^https:\/\/europe-west1-docker\.pkg\.dev\/artifacts-downloads\/namespaces\/proj\/repositories\/repo\/downloads\//);
    // The absolute URL works for the client, without any credential.
    const download = await fetch(location);
    expect(digestOf(await bytesOf(download))).toBe(image.layers[0]!.digest);
  });

  it('Quay 302 FOUND with the Werkzeug HTML body and its Docker-Content-Digest', async () => {
    const q = quay();
    server.use(...q.handlers);
    const image = q.addImage('fedora/fedora', '40');
    const proxy = createRegistryProxy({ upstream: 'quay.io' });
    const digest = image.layers[0]!.digest;
    const response = await proxy(req(`GET /v2/fedora/fedora/blobs/${digest}`));
    expect(response.status).toBe(302);
    expect(response.statusText).toBe('FOUND');
    const location = response.headers.get('location')!;
    expect(location).toMatch(new RegExp(`^https://cdn03\\.quay\\.io/quayio-production-s3/sha256/${digest.slice(7, 9)}/${digest.slice(7)}\\?X-Amz-Algorithm=`));
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('docker-content-digest')).toBe(digest);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const html = await response.text();
    expect(html.startsWith('<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>')).toBe(true);
    expect(html).toContain(location.replaceAll('&', '&amp;'));
  });

  it('registry.k8s.io: the cross-registry manifest 307 to Artifact Registry is passed as is', async () => {
    const k8s = registryK8s();
    server.use(...k8s.handlers);
    k8s.addImage('pause', '3.9');
    const proxy = createRegistryProxy({ upstream: 'registry.k8s.io' });
    const response = await proxy(req('GET /v2/pause/manifests/3.9'));
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe('https://us-west1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/manifests/3.9');
  });
});

describe('redirects: follow', () => {
  it('Docker Hub: streams the CDN bytes; the registry got the token, the CDN did not', async () => {
    const { mock, image, proxy } = hub('follow');
    const token = await proxyToken(proxy, 'scope=repository:alpine:pull&service=registry.docker.io');
    const layer = image.layers[0]!;
    const response = await proxy(req(`GET /v2/alpine/blobs/${layer.digest}`, { headers: bearer(token) }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('4096');
    expect(response.headers.get('location')).toBeNull();
    const bytes = await bytesOf(response);
    expect(bytes).toEqual(layer.bytes);
    expect(digestOf(bytes)).toBe(layer.digest);
    const registryHit = mock.requests.find((r) => r.path.endsWith(`/blobs/${layer.digest}`));
    expect(registryHit?.headers.authorization).toBe(`Bearer ${token}`);
    const cdnHits = mock.requests.to('production.cloudflare.docker.com');
    expect(cdnHits).toHaveLength(1);
    expect(cdnHits[0]!.headers.authorization).toBeUndefined();
  });

  it('keeps Range across the hop: 206 with Content-Range from the CDN', async () => {
    const { mock, image, proxy } = hub('follow');
    const token = await proxyToken(proxy, 'scope=repository:alpine:pull&service=registry.docker.io');
    const layer = image.layers[0]!;
    const response = await proxy(req(`GET /v2/alpine/blobs/${layer.digest}`, { headers: { ...bearer(token), range: 'bytes=1000-1999' } }));
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 1000-1999/4096');
    expect(response.headers.get('content-length')).toBe('1000');
    expect(await bytesOf(response)).toEqual(layer.bytes.subarray(1000, 2000));
    expect(mock.requests.to('production.cloudflare.docker.com')[0]!.headers.range).toBe('bytes=1000-1999');
  });

  it('GHCR (Azure SAS) and Quay (S3 presigned) with client tokens: the signed targets never see Authorization', async () => {
    const gh = ghcr();
    const q = quay();
    server.use(...gh.handlers, ...q.handlers);
    const ghImage = gh.addImage('owner/app', 'latest');
    const quayImage = q.addImage('acme/private', 'v1');
    q.setPrivate('acme/private');
    q.setCredentials('robot', 'pw');

    const viaGhcr = createRegistryProxy({ upstream: 'ghcr.io', redirects: 'follow' });
    const ghToken = await proxyToken(viaGhcr, 'scope=repository:owner/app:pull&service=ghcr.io');
    const ghBlob = await viaGhcr(req(`GET /v2/owner/app/blobs/${ghImage.layers[0]!.digest}`, { headers: bearer(ghToken) }));
    expect(ghBlob.status).toBe(200);
    expect(digestOf(await bytesOf(ghBlob))).toBe(ghImage.layers[0]!.digest);

    const viaQuay = createRegistryProxy({ upstream: 'quay.io', redirects: 'follow' });
    const quayToken = await proxyToken(viaQuay, 'scope=repository:acme/private:pull&service=quay.io', { authorization: basic('robot', 'pw') });
    const quayBlob = await viaQuay(req(`GET /v2/acme/private/blobs/${quayImage.layers[0]!.digest}`, { headers: bearer(quayToken) }));
    expect(quayBlob.status).toBe(200);
    expect(digestOf(await bytesOf(quayBlob))).toBe(quayImage.layers[0]!.digest);

    expect(gh.requests.to('pkg-containers.githubusercontent.com').map((r) => r.headers.authorization)).toEqual([undefined]);
    expect(q.requests.to('cdn03.quay.io').map((r) => r.headers.authorization)).toEqual([undefined]);
    expect(q.requests.find((r) => r.path.includes('/blobs/'))!.headers.authorization).toBe(`Bearer ${quayToken}`);
  });

  it('Artifact Registry: the relative same-host hop is resolved against the upstream', async () => {
    const ar = artifactRegistry();
    server.use(...ar.handlers);
    const image = ar.addImage('proj/repo/app', 'v1');
    const proxy = createRegistryProxy({ upstream: 'us-docker.pkg.dev', redirects: 'follow' });
    const response = await proxy(req(`GET /v2/proj/repo/app/blobs/${image.layers[0]!.digest}`));
    expect(response.status).toBe(200);
    expect(await bytesOf(response)).toEqual(image.layers[0]!.bytes);
    expect(ar.requests.map((r) => `${r.host} ${r.path.split('/').slice(0, 3).join('/')}`)).toEqual([
      'us-docker.pkg.dev /v2/proj',
      'us-docker.pkg.dev /artifacts-downloads/namespaces',
    ]);
  });

  it('registry.k8s.io: follows the manifest to Artifact Registry and the blob to S3 (GET and HEAD)', async () => {
    const k8s = registryK8s();
    server.use(...k8s.handlers);
    const image = k8s.addImage('pause', '3.9', { format: 'docker' });
    const proxy = createRegistryProxy({ upstream: 'registry.k8s.io', redirects: 'follow' });

    const manifest = await proxy(req('GET /v2/pause/manifests/3.9', { headers: { accept: MediaType.dockerManifest } }));
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    expect(await bytesOf(manifest)).toEqual(image.manifest.bytes);

    const head = await proxy(req('HEAD /v2/pause/manifests/3.9', { headers: { accept: MediaType.dockerManifest } }));
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(image.manifest.bytes.byteLength));
    expect(head.body).toBeNull();

    const blob = await proxy(req(`GET /v2/pause/blobs/${image.layers[0]!.digest}`));
    expect(blob.status).toBe(200);
    expect(digestOf(await bytesOf(blob))).toBe(image.layers[0]!.digest);
    expect(k8s.requests.map((r) => `${r.method} ${r.host}${r.path}`)).toEqual([
      'GET registry.k8s.io/v2/pause/manifests/3.9',
      'GET us-west1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/manifests/3.9',
      'HEAD registry.k8s.io/v2/pause/manifests/3.9',
      'HEAD us-west1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/manifests/3.9',
      `GET registry.k8s.io/v2/pause/blobs/${image.layers[0]!.digest}`,
      `GET prod-registry-k8s-io-us-west-2.s3.dualstack.us-west-2.amazonaws.com/containers/images/${encodeURIComponent(image.layers[0]!.digest)}`,
    ]);
  });

  it('a redirect loop ends in 502 after a bounded number of hops', async () => {
    let hops = 0;
    server.use(
      http.get('https://loop.example/*', ({ request }) => {
        hops++;
        const url = new URL(request.url);
        const next = url.pathname.endsWith('/a') ? url.pathname.replace(/a$/, 'b') : url.pathname.replace(/b$/, 'a');
        return new HttpResponse(null, { status: 302, headers: { location: next } });
      }),
    );
    const proxy = createRegistryProxy({ upstream: 'https://loop.example', redirects: 'follow' });
    const response = await proxy(req(`GET /v2/app/blobs/sha256:${'a'.repeat(63)}b`));
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]!.code).toBe('UPSTREAM_INVALID');
    expect(body.errors[0]!.message).toBe('upstream redirected more than 5 times');
    expect(hops).toBe(6);
  });

  it('a redirect to a non-HTTP location is refused with 502', async () => {
    server.use(http.get('https://odd.example/*', () => new HttpResponse(null, { status: 307, headers: { location: 'file:///etc/passwd' } })));
    const proxy = createRegistryProxy({ upstream: 'https://odd.example', redirects: 'follow' });
    const response = await proxy(req('GET /v2/app/manifests/latest'));
    expect(response.status).toBe(502);
    expect(((await response.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe('UPSTREAM_INVALID');
  });
});
