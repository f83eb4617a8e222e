/**
 * Proves the upstream mocks behave like the real registries (upstreams.md), with plain fetch
 * and no proxy involved.
 */
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  artifactRegistry,
  decodeJwtClaims,
  distribution,
  dockerHub,
  ecrPublic,
  gcr,
  ghcr,
  MediaType,
  quay,
  registryK8s,
  sha256,
} from './index.ts';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const ALL_MANIFESTS = [MediaType.ociIndex, MediaType.ociManifest, MediaType.dockerList, MediaType.dockerManifest].join(', ');

async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

async function token(realmUrl: string, init?: RequestInit): Promise<string> {
  const response = await fetch(realmUrl, init);
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

describe('Docker Hub', () => {
  it('runs the anonymous dance end to end: ping → 401 → token → manifest → 307 → CDN', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    const image = hub.addImage('library/alpine', 'latest', { layers: [4096] });

    const ping = await fetch('https://registry-1.docker.io/v2/');
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"');
    expect(ping.headers.get('content-length')).toBe('87');
    expect(await ping.text()).toBe('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}\n');

    const challenged = await fetch('https://registry-1.docker.io/v2/library/alpine/manifests/latest');
    expect(challenged.status).toBe(401);
    expect(challenged.headers.get('www-authenticate')).toContain('scope="repository:library/alpine:pull"');

    const tokenResponse = await fetch('https://auth.docker.io/token?scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io');
    const body = (await tokenResponse.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'issued_at', 'token']);
    expect(body.expires_in).toBe(300);
    expect(body.token).toBe(body.access_token);
    const auth = { authorization: `Bearer ${body.token as string}` };

    const manifest = await fetch('https://registry-1.docker.io/v2/library/alpine/manifests/latest', {
      headers: { ...auth, accept: MediaType.ociManifest },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    expect(manifest.headers.get('etag')).toBe(`"${image.manifest.digest}"`);
    expect(manifest.headers.get('ratelimit-limit')).toBe('100;w=21600');
    expect(sha256(await bytesOf(manifest))).toBe(image.manifest.digest);

    const layer = image.layers[0]!;
    const blob = await fetch(`https://registry-1.docker.io/v2/library/alpine/blobs/${layer.digest}`, { headers: auth, redirect: 'manual' });
    expect(blob.status).toBe(307);
    expect(blob.headers.get('content-length')).toBe('0');
    const location = blob.headers.get('location')!;
    expect(location).toMatch(/^https:\/\/production\.cloudflare\.docker\.com\/registry-v2\/.+\/data\?verify=\d+-/);

    const cdn = await fetch(location);
    expect(cdn.status).toBe(200);
    expect(sha256(await bytesOf(cdn))).toBe(layer.digest);
    expect(hub.requests.to('production.cloudflare.docker.com').every((r) => !('authorization' in r.headers))).toBe(true);
  });

  it('issues an empty-access token for `alpine` without library/, then 401 insufficient_scope (DH-2, DH-6)', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    hub.addImage('library/alpine', 'latest');
    const t = await token('https://auth.docker.io/token?scope=repository%3Aalpine%3Apull&service=registry.docker.io');
    expect(decodeJwtClaims(t).access).toEqual([]);
    const response = await fetch('https://registry-1.docker.io/v2/alpine/manifests/latest', { headers: { authorization: `Bearer ${t}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:alpine:pull",error="insufficient_scope"',
    );
  });

  it('answers DH-6 byte for byte', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    const t = await token('https://auth.docker.io/token?scope=repository%3Alibrary%2Fthis-does-not-exist%3Apull&service=registry.docker.io');
    const response = await fetch('https://registry-1.docker.io/v2/library/this-does-not-exist/manifests/latest', {
      headers: { authorization: `Bearer ${t}` },
    });
    expect(response.headers.get('content-length')).toBe('170');
    expect(await response.text()).toBe(
      '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"library/this-does-not-exist","Action":"pull"}]}]}\n',
    );
  });

  it('accepts Basic GET and OAuth POST token requests for private repositories, rejects bad passwords', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    hub.addImage('acme/private', 'v1');
    hub.setPrivate('acme/private');
    hub.setCredentials('alice', 's3cret');
    const url = 'https://auth.docker.io/token?scope=repository%3Aacme%2Fprivate%3Apull&service=registry.docker.io';

    expect(decodeJwtClaims(await token(url)).access).toEqual([]);
    const granted = decodeJwtClaims(await token(url, { headers: { authorization: basic('alice', 's3cret') } }));
    expect(granted.access).toMatchObject([{ type: 'repository', name: 'acme/private', actions: ['pull'] }]);
    const bad = await fetch(url, { headers: { authorization: basic('alice', 'nope') } });
    expect(bad.status).toBe(401);

    const post = await fetch('https://auth.docker.io/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'alice',
        password: 's3cret',
        service: 'registry.docker.io',
        client_id: 'containerd-client',
        scope: 'repository:acme/private:pull',
        access_type: 'offline',
      }),
    });
    const oauth = (await post.json()) as { access_token: string; refresh_token: string };
    expect(oauth.refresh_token).toBeTruthy();
    const manifest = await fetch('https://registry-1.docker.io/v2/acme/private/manifests/v1', {
      headers: { authorization: `Bearer ${oauth.access_token}`, accept: MediaType.ociManifest },
    });
    expect(manifest.status).toBe(200);
    expect(hub.requests.find((r) => r.method === 'POST')?.body).toContain('grant_type=password');
  });

  it('answers the pull-limit 429 on manifest GETs and the HAProxy 429 (DH-7)', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    hub.addImage('library/alpine', 'latest');
    const t = await token('https://auth.docker.io/token?scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io');
    const headers = { authorization: `Bearer ${t}`, accept: MediaType.ociManifest };

    hub.tooManyRequests('pull-limit');
    const head = await fetch('https://registry-1.docker.io/v2/library/alpine/manifests/latest', { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    const limited = await fetch('https://registry-1.docker.io/v2/library/alpine/manifests/latest', { headers });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('TOOMANYREQUESTS');

    hub.rateLimit.remaining = 10;
    hub.tooManyRequests('haproxy');
    const haproxy = await fetch('https://registry-1.docker.io/v2/library/alpine/manifests/latest', { headers });
    expect(haproxy.status).toBe(429);
    expect(haproxy.headers.get('retry-after')).toBe('60');
    expect(haproxy.headers.get('content-type')).toBe('text/plain');
    expect(await haproxy.text()).toBe('Too Many Requests (HAP429).\n');
    expect((await fetch('https://registry-1.docker.io/v2/library/alpine/manifests/latest', { headers })).status).toBe(200);
  });

  it('refuses the catalog even with a token (DH-9) and rejects expired tokens', async () => {
    const hub = dockerHub();
    server.use(...hub.handlers);
    hub.addImage('library/alpine', 'latest');
    const t = await token('https://auth.docker.io/token?scope=registry%3Acatalog%3A*&scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io');
    const catalog = await fetch('https://registry-1.docker.io/v2/_catalog', { headers: { authorization: `Bearer ${t}` } });
    expect(catalog.status).toBe(401);
    expect(catalog.headers.get('www-authenticate')).toContain('scope="registry:catalog:*",error="insufficient_scope"');
    hub.expireTokens();
    const expired = await fetch('https://registry-1.docker.io/v2/library/alpine/tags/list', { headers: { authorization: `Bearer ${t}` } });
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('distribution core behaviour', () => {
  it('negotiates Accept: an OCI index only when accepted; HEAD carries the real Content-Length', async () => {
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    const index = registry.addIndex('app', 'latest');
    const url = 'https://registry.example.com/v2/app/manifests/latest';

    const refused = await fetch(url, { headers: { accept: MediaType.dockerManifest } });
    expect(refused.status).toBe(404);
    expect(await refused.text()).toBe(
      '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"OCI index found, but accept header does not support OCI indexes"}]}\n',
    );
    const head = await fetch(url, { method: 'HEAD', headers: { accept: ALL_MANIFESTS } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(index.manifest.bytes.byteLength));
    expect(head.headers.get('content-type')).toBe(MediaType.ociIndex);
    expect(head.headers.get('docker-content-digest')).toBe(index.manifest.digest);
    expect(head.headers.get('docker-distribution-api-version')).toBe('registry/2.0');

    const child = index.children[1]!;
    const byDigest = await fetch(`https://registry.example.com/v2/app/manifests/${child.manifest.digest}`, { headers: { accept: MediaType.ociManifest } });
    expect(sha256(await bytesOf(byDigest))).toBe(child.manifest.digest);

    const notModified = await fetch(url, { headers: { accept: ALL_MANIFESTS, 'if-none-match': `"${index.manifest.digest}"` } });
    expect(notModified.status).toBe(304);
  });

  it('rewrites a Docker manifest list to linux/amd64 for old clients asking by tag', async () => {
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    const list = registry.addIndex('app', 'v1', { format: 'docker' });
    const response = await fetch('https://registry.example.com/v2/app/manifests/v1', { headers: { accept: MediaType.dockerManifest } });
    expect(response.headers.get('docker-content-digest')).toBe(list.children[0]!.manifest.digest);
    const invalid = await fetch('https://registry.example.com/v2/app/manifests/v1', { headers: { accept: 'application/json' } });
    expect(invalid.status).toBe(400);
  });

  it('serves Range as 206 with Content-Range, and 416 past the end', async () => {
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    const layer = registry.addImage('app', 'v1', { layers: [1000] }).layers[0]!;
    const url = `https://registry.example.com/v2/app/blobs/${layer.digest}`;
    const partial = await fetch(url, { headers: { range: 'bytes=100-' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 100-999/1000');
    expect(await bytesOf(partial)).toEqual(layer.bytes.subarray(100));
    expect((await fetch(url, { headers: { range: 'bytes=5000-' } })).status).toBe(416);
  });

  it('paginates tags with a distribution-style relative Link', async () => {
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    for (const tag of ['a', 'b', 'c', 'd', 'e']) registry.addImage('app', tag);
    const first = await fetch('https://registry.example.com/v2/app/tags/list?n=2');
    expect(first.headers.get('link')).toBe('</v2/app/tags/list?last=b&n=2>; rel="next"');
    expect(await first.json()).toEqual({ name: 'app', tags: ['a', 'b'] });
    const next = await fetch(new URL('/v2/app/tags/list?last=b&n=2', 'https://registry.example.com'));
    expect(((await next.json()) as { tags: string[] }).tags).toEqual(['c', 'd']);
    const all = await fetch('https://registry.example.com/v2/app/tags/list');
    expect(all.headers.get('link')).toBeNull();
    expect((await fetch('https://registry.example.com/v2/missing/tags/list')).status).toBe(404);
  });

  it('token mode: 401 with scope, insufficient_scope for a token lacking it, catalog for accounts', async () => {
    const registry = distribution();
    server.use(...registry.handlers);
    registry.addImage('team/app', 'v1');
    registry.setPrivate('team/app');
    registry.setCredentials('bob', 'pw');
    const anon = await token('https://auth.example.com/token?service=registry.example.com&scope=repository:team/app:pull');
    const refused = await fetch('https://registry.example.com/v2/team/app/tags/list', { headers: { authorization: `Bearer ${anon}` } });
    expect(refused.headers.get('www-authenticate')).toBe(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull",error="insufficient_scope"',
    );
    const t = await token('https://auth.example.com/token?service=registry.example.com&scope=repository:team/app:pull&scope=registry:catalog:*', {
      headers: { authorization: basic('bob', 'pw') },
    });
    expect((await fetch('https://registry.example.com/v2/team/app/tags/list', { headers: { authorization: `Bearer ${t}` } })).status).toBe(200);
    const catalog = await fetch('https://registry.example.com/v2/_catalog', { headers: { authorization: `Bearer ${t}` } });
    expect(await catalog.json()).toEqual({ repositories: ['team/app'] });
  });

  it('basic mode challenges with Basic; S3 redirect target rejects Authorization with InvalidArgument', async () => {
    const registry = distribution({ auth: 'basic', blobRedirect: 's3' });
    server.use(...registry.handlers);
    registry.setCredentials('bob', 'pw');
    const layer = registry.addImage('app', 'v1').layers[0]!;
    expect((await fetch('https://registry.example.com/v2/')).headers.get('www-authenticate')).toBe('Basic realm="Registry Realm"');
    const redirected = await fetch(`https://registry.example.com/v2/app/blobs/${layer.digest}`, {
      headers: { authorization: basic('bob', 'pw') },
      redirect: 'manual',
    });
    expect(redirected.status).toBe(307);
    const location = redirected.headers.get('location')!;
    const leaked = await fetch(location, { headers: { authorization: 'Bearer X' } });
    expect(leaked.status).toBe(400);
    expect(await leaked.text()).toContain('<Code>InvalidArgument</Code><Message>Only one auth mechanism allowed');
    const clean = await fetch(location, { headers: { range: 'bytes=0-9' } });
    expect(clean.status).toBe(206);
    expect(registry.requests.withAuthorization().map((r) => r.host)).toContain('registry-bucket.s3.us-east-1.amazonaws.com');
  });

  it('referrers: empty index when supported, subject-linked manifests listed', async () => {
    const registry = distribution({ auth: 'anonymous', referrers: 'supported' });
    server.use(...registry.handlers);
    const image = registry.addImage('app', 'v1');
    const empty = await fetch(`https://registry.example.com/v2/app/referrers/${image.manifest.digest}`);
    expect(empty.headers.get('content-type')).toBe(MediaType.ociIndex);
    expect(((await empty.json()) as { manifests: unknown[] }).manifests).toEqual([]);
    const signature = registry.addImage('app', 'sig', { subject: image.descriptor, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' });
    const listed = (await (await fetch(`https://registry.example.com/v2/app/referrers/${image.manifest.digest}`)).json()) as {
      manifests: { digest: string }[];
    };
    expect(listed.manifests.map((m) => m.digest)).toEqual([signature.manifest.digest]);
  });

  it('faults: truncated bodies fail, slow headers delay, requests are recorded', async () => {
    const registry = distribution({ auth: 'anonymous' });
    server.use(...registry.handlers);
    const layer = registry.addImage('app', 'v1', { layers: [5000] }).layers[0]!;
    registry.faults.truncate('/blobs/', { bytes: 100 });
    const truncated = await fetch(`https://registry.example.com/v2/app/blobs/${layer.digest}`);
    expect(truncated.headers.get('content-length')).toBe('5000');
    await expect(truncated.arrayBuffer()).rejects.toThrow();
    registry.faults.reset();
    registry.faults.slow(undefined, { headersMs: 50 });
    const started = Date.now();
    await fetch('https://registry.example.com/v2/');
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(registry.requests.map((r) => r.path)).toEqual([`/v2/app/blobs/${layer.digest}`, '/v2/']);
  });
});

describe('GHCR', () => {
  it('sends the placeholder scope on /v2/, {"token"} only, 307 to pkg-containers which rejects Authorization', async () => {
    const gh = ghcr();
    server.use(...gh.handlers);
    const image = gh.addImage('owner/app', 'latest');
    const ping = await fetch('https://ghcr.io/v2/');
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"');
    expect(ping.headers.get('content-length')).toBe('73');
    const repo401 = await fetch('https://ghcr.io/v2/owner/app/manifests/latest');
    expect(repo401.headers.get('www-authenticate')).toContain('scope="repository:owner/app:pull"');

    const response = await fetch('https://ghcr.io/token?scope=repository:owner/app:pull&service=ghcr.io');
    const body = (await response.json()) as Record<string, string>;
    expect(Object.keys(body)).toEqual(['token']);
    expect(body.token).toMatch(/^djE6/);

    const blob = await fetch(`https://ghcr.io/v2/owner/app/blobs/${image.layers[0]!.digest}`, {
      headers: { authorization: `Bearer ${body.token}` },
      redirect: 'manual',
    });
    expect(blob.status).toBe(307);
    const location = blob.headers.get('location')!;
    expect(location).toMatch(/^https:\/\/pkg-containers\.githubusercontent\.com\/ghcr1\/blobs\/sha256:[0-9a-f]{64}\?se=.+&sig=.+&sp=r/);
    const leaked = await fetch(location, { headers: { authorization: `Bearer ${body.token}` } });
    expect(leaked.status).toBe(400);
    expect(await leaked.text()).toContain('Authentication information is not given in the correct format');
    // Following the redirect with fetch drops Authorization cross-origin, as undici does.
    const followed = await fetch(`https://ghcr.io/v2/owner/app/blobs/${image.layers[0]!.digest}`, { headers: { authorization: `Bearer ${body.token}` } });
    expect(followed.status).toBe(200);
  });

  it('refuses anonymous tokens for private packages (401 or 403), accepts Basic user:PAT', async () => {
    const gh = ghcr();
    server.use(...gh.handlers);
    gh.addImage('owner/secret', 'v1');
    gh.setPrivate('owner/secret');
    gh.setCredentials('owner', 'ghp_pat');
    const url = 'https://ghcr.io/token?scope=repository:owner/secret:pull&service=ghcr.io';
    expect((await fetch(url)).status).toBe(401);
    gh.privateTokenStatus = 403;
    expect((await fetch(url)).status).toBe(403);
    expect((await fetch(url, { headers: { authorization: 'Bearer ghp_pat' } })).status).toBe(401);
    const t = await token(url, { headers: { authorization: basic('owner', 'ghp_pat') } });
    const ok = await fetch('https://ghcr.io/v2/owner/secret/manifests/v1', { headers: { authorization: `Bearer ${t}`, accept: MediaType.ociManifest } });
    expect(ok.status).toBe(200);
    const denied = await fetch('https://ghcr.io/v2/owner/secret/manifests/v1', { headers: { authorization: 'Bearer stale' } });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('www-authenticate')).toBeNull();
  });

  it('uses the GHCR Accept message and a default tags page of 100', async () => {
    const gh = ghcr();
    server.use(...gh.handlers);
    gh.addIndex('owner/app', 'multi');
    for (let i = 0; i < 101; i++) gh.addImage('owner/app', `t${String(i).padStart(3, '0')}`, gh.addImage('owner/app', 'base'));
    const headers = { authorization: 'Bearer QQ==' };
    const refused = await fetch('https://ghcr.io/v2/owner/app/manifests/multi', { headers });
    expect(await refused.text()).toContain('OCI index found, but Accept header does not support OCI indexes');
    const tags = await fetch('https://ghcr.io/v2/owner/app/tags/list', { headers });
    expect(((await tags.json()) as { tags: string[] }).tags).toHaveLength(100);
    expect(tags.headers.get('link')).toMatch(/rel="next"$/);
  });
});

describe('gcr.io', () => {
  it('unquoted service, no scope, public repos without a token, 302 to GCS with {"errors":[]}', async () => {
    const g = gcr();
    server.use(...g.handlers);
    const image = g.addImage('mock-project/app', 'v1');
    const ping = await fetch('https://gcr.io/v2/');
    expect(ping.status).toBe(401);
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="https://gcr.io/v2/token",service=gcr.io');
    const manifest = await fetch('https://gcr.io/v2/mock-project/app/manifests/v1');
    expect(manifest.status).toBe(200);
    const text = await manifest.text();
    expect(text).toContain('\n   "schemaVersion": 2');
    const blob = await fetch(`https://gcr.io/v2/mock-project/app/blobs/${image.layers[0]!.digest}`, { redirect: 'manual' });
    expect(blob.status).toBe(302);
    expect(await blob.text()).toBe('{"errors":[]}');
    expect(blob.headers.get('location')).toMatch(/^https:\/\/storage\.googleapis\.com\/.+\/containers\/images\/sha256:/);
    expect((await fetch(blob.headers.get('location')!, { headers: { authorization: 'Bearer ya29.x' } })).status).toBe(403);
    expect((await fetch(blob.headers.get('location')!)).status).toBe(200);
    expect((await fetch('https://gcr.io/v2/token?scope=repository:mock-project/app:pull&service=gcr.io', { method: 'POST' })).status).toBe(404);
    expect((await fetch('https://gcr.io/v2')).status).toBe(404);
  });

  it('private repos challenge without scope', async () => {
    const g = gcr();
    server.use(...g.handlers);
    g.addImage('mock-project/private', 'v1');
    g.setPrivate('mock-project/private');
    const response = await fetch('https://gcr.io/v2/mock-project/private/manifests/v1');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).not.toContain('scope');
  });
});

describe('Artifact Registry', () => {
  it('no service on /v2/, relative 302 served by the same host, 403 anonymous token for private', async () => {
    const ar = artifactRegistry();
    server.use(...ar.handlers);
    const image = ar.addImage('proj/repo/app', 'v1');
    ar.addImage('proj/private/app', 'v1');
    ar.setPrivate('proj/private/app');
    expect((await fetch('https://us-docker.pkg.dev/v2/')).headers.get('www-authenticate')).toBe('Bearer realm="https://us-docker.pkg.dev/v2/token"');
    const challenge = (await fetch('https://us-docker.pkg.dev/v2/proj/private/app/manifests/v1')).headers.get('www-authenticate');
    expect(challenge).toBe('Bearer realm="https://us-docker.pkg.dev/v2/token",service="us-docker.pkg.dev",scope="repository:proj/private/app:pull"');
    const refused = await fetch('https://us-docker.pkg.dev/v2/token?scope=repository:proj/private/app:pull&service=us-docker.pkg.dev');
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Unauthenticated requests do not have permission');

    const blob = await fetch(`https://us-docker.pkg.dev/v2/proj/repo/app/blobs/${image.config.digest}`, { redirect: 'manual' });
    expect(blob.status).toBe(302);
    const location = blob.headers.get('location')!;
    expect(location).toMatch(/^\/artifacts-downloads\/namespaces\/proj\/repositories\/repo\/downloads\/[A-Za-z0-9_-]{900,}$/);
    const download = await fetch(new URL(location, 'https://us-docker.pkg.dev'));
    expect(sha256(await bytesOf(download))).toBe(image.config.digest);
    const referrers = await fetch(`https://us-docker.pkg.dev/v2/proj/repo/app/referrers/${image.manifest.digest}`);
    expect(referrers.headers.get('content-type')).toContain('text/html');
  });
});

describe('Quay', () => {
  it('401 text/html "true", no scope, public pulls without token, 302 FOUND HTML to S3 that rejects Authorization', async () => {
    const q = quay();
    server.use(...q.handlers);
    const image = q.addImage('ns/app', 'v1');
    const ping = await fetch('https://quay.io/v2/');
    expect(ping.status).toBe(401);
    expect(ping.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await ping.text()).toBe('true');
    expect(ping.headers.get('www-authenticate')).toBe('Bearer realm="https://quay.io/v2/auth",service="quay.io"');
    const head = await fetch(`https://quay.io/v2/ns/app/blobs/${image.layers[0]!.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const blob = await fetch(`https://quay.io/v2/ns/app/blobs/${image.layers[0]!.digest}`, { redirect: 'manual' });
    expect(blob.status).toBe(302);
    expect(blob.statusText).toBe('FOUND');
    expect(await blob.text()).toContain('<title>Redirecting...</title>');
    const location = blob.headers.get('location')!;
    expect(location).toContain('X-Amz-Algorithm=AWS4-HMAC-SHA256');
    const leaked = await fetch(location, { headers: { authorization: 'Bearer X' } });
    expect(leaked.status).toBe(400);
    expect(await leaked.text()).toContain('<ArgumentValue>Bearer X</ArgumentValue>');
    q.expireSignedUrls();
    expect((await fetch(location)).status).toBe(403);
  });

  it('paginates with n before last, or the legacy absolute next_page', async () => {
    const q = quay();
    server.use(...q.handlers);
    for (const tag of ['a', 'b', 'c']) q.addImage('ns/app', tag);
    expect((await fetch('https://quay.io/v2/ns/app/tags/list?n=1')).headers.get('link')).toBe('</v2/ns/app/tags/list?n=1&last=a>; rel="next"');
    q.legacyPagination = true;
    const link = (await fetch('https://quay.io/v2/ns/app/tags/list?n=1')).headers.get('link')!;
    const next = /^<(.+)>; rel="next"$/.exec(link)![1]!;
    expect(next).toMatch(/^https:\/\/quay\.io\/v2\/ns\/app\/tags\/list\?next_page=gAAAA/);
    expect(((await (await fetch(next)).json()) as { tags: string[] }).tags).toEqual(['b']);
  });
});

describe('ECR Public', () => {
  it('scope="aws" with the trailing-slash realm; stale Bearer is DENIED; CloudFront rejects Authorization', async () => {
    const ecr = ecrPublic();
    server.use(...ecr.handlers);
    const image = ecr.addImage('docker/library/alpine', 'latest');
    const challenge = (await fetch('https://public.ecr.aws/v2/docker/library/alpine/manifests/latest')).headers.get('www-authenticate');
    expect(challenge).toBe('Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws"');
    const t = await token('https://public.ecr.aws/token/?scope=aws&scope=repository:docker/library/alpine:pull&service=public.ecr.aws');
    const auth = { authorization: `Bearer ${t}` };
    expect((await fetch('https://public.ecr.aws/v2/docker/library/alpine/tags/list', { headers: auth })).status).toBe(200);
    ecr.expireTokens();
    const stale = await fetch('https://public.ecr.aws/v2/docker/library/alpine/tags/list', { headers: auth });
    expect(stale.status).toBe(403);
    expect(await stale.text()).toContain('Your authorization token has expired');
    const aws = { authorization: `Bearer ${ecr.issueAwsToken()}` };
    const blob = await fetch(`https://public.ecr.aws/v2/docker/library/alpine/blobs/${image.layers[0]!.digest}`, { headers: aws, redirect: 'manual' });
    expect(blob.status).toBe(307);
    const location = blob.headers.get('location')!;
    expect(location).toMatch(/^https:\/\/d2glxqk2uabbnd\.cloudfront\.net\/.+Key-Pair-Id=/);
    expect((await fetch(location, { headers: aws })).status).toBe(403);
    expect((await fetch(location)).status).toBe(200);
    expect((await fetch('https://public.ecr.aws/v2/', { headers: { authorization: basic('AWS', 'x') } })).status).toBe(400);
  });
});

describe('registry.k8s.io', () => {
  it('200 on /v2/, 307 manifests to AR and blobs to public S3', async () => {
    const k8s = registryK8s();
    server.use(...k8s.handlers);
    const image = k8s.addImage('pause', '3.9');
    const ping = await fetch('https://registry.k8s.io/v2/');
    expect(ping.status).toBe(200);
    expect(ping.headers.get('www-authenticate')).toBeNull();
    const manifest = await fetch('https://registry.k8s.io/v2/pause/manifests/3.9', { redirect: 'manual' });
    expect(manifest.status).toBe(307);
    expect(manifest.headers.get('location')).toBe('https://us-west1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/manifests/3.9');
    const followed = await fetch('https://registry.k8s.io/v2/pause/manifests/3.9', { headers: { accept: MediaType.ociManifest } });
    expect(followed.headers.get('docker-content-digest')).toBe(image.manifest.digest);
    const blob = await fetch(`https://registry.k8s.io/v2/pause/blobs/${image.layers[0]!.digest}`, { redirect: 'manual' });
    expect(blob.headers.get('location')).toMatch(/^https:\/\/prod-registry-k8s-io-us-west-2\.s3\.dualstack\.us-west-2\.amazonaws\.com\/containers\/images\/sha256%3A/);
    expect((await fetch(blob.headers.get('location')!, { headers: { authorization: 'Bearer x' } })).status).toBe(400);
    expect(sha256(await bytesOf(await fetch(blob.headers.get('location')!)))).toBe(image.layers[0]!.digest);
    expect((await fetch('https://registry.k8s.io/v2/_catalog')).status).toBe(404);
    expect(k8s.requests.map((r) => r.host)).toContain('us-west1-docker.pkg.dev');
  });
});
