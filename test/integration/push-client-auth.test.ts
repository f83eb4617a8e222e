/**
 * Issue 4 (6): push through the proxy to a real distribution registry (htpasswd, the proxy
 * holding the credentials), by a user the proxy authenticates (`auth.users`), refused for
 * anonymous clients and pull-only users. The image lands upstream under the mapped name
 * (`repositoryPrefix`); cross-repository mounts map both names; chunked (skopeo's PATCH, and
 * several PATCHes with Content-Range) and monolithic (POST then one PUT) uploads work.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type NodeServer } from '../../adapters/node/serve.ts';
import { hashPassword } from '../../lib/auth/password-hash.ts';
import { KiB, makeImage, type TestImage } from './harness/images.ts';
import { findLeaks, secretForms } from './harness/leaks.ts';
import { requireCommands } from './harness/process.ts';
import { MANIFEST_ACCEPT, startRegistry, type Registry } from './harness/registry.ts';
import { compareLayout, describe as describeRun, runSkopeo, skopeoCopyToOci, skopeoInspect } from './harness/skopeo.ts';

const PREFIX = 'team';
let registry: Registry;
let image: TestImage;
let proxy: NodeServer;
let proxyHost: string;
const errors: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The upstream registry, asked directly with the proxy's credentials. */
function upstream(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', basic(registry.username!, registry.password!));
  return fetch(`${registry.url}${path}`, { ...init, headers });
}

async function catalog(): Promise<string[]> {
  return ((await (await upstream('/v2/_catalog')).json()) as { repositories: string[] }).repositories;
}

function pushThroughProxy(repository: string, creds: string | undefined) {
  const args = ['copy', '--preserve-digests', '--dest-tls-verify=false'];
  if (creds) args.push('--dest-creds', creds);
  else args.push('--dest-no-creds');
  args.push(image.ociRef, `docker://${proxyHost}/${repository}:v1`);
  return runSkopeo(args);
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo', 'htpasswd');
  registry = await startRegistry({ auth: 'htpasswd', username: 'proxy-robot', password: 'robot-S3cret-never-shown' });
  cleanups.push(() => registry.stop());
  image = await makeImage({ layers: [300 * KiB, 1200 * KiB], seed: 'push-through' });
  cleanups.push(() => image.remove());
  proxy = await serve({
    port: 0,
    hostname: '127.0.0.1',
    drainTimeout: 2000,
    auth: {
      tokenSecret: 'push-tests-secret-0123456789-0123456789',
      users: {
        alice: { passwordHash: await hashPassword('alice-pw', 1000), push: ['myorg/**'] },
        bob: { passwordHash: await hashPassword('bob-pw', 1000) },
        carol: { passwordHash: await hashPassword('carol-pw', 1000), pull: ['myorg/**'], push: ['myorg/**'] },
      },
    },
    upstreams: [
      {
        upstream: registry.url,
        repositoryPrefix: PREFIX,
        readOnly: false,
        credentials: { username: registry.username!, password: registry.password! },
      },
    ],
    onError: (error, request) => errors.push(`${request.method} ${request.url}: ${String(error)}`),
  });
  cleanups.push(() => proxy.close());
  proxyHost = new URL(proxy.url).host;
});

afterAll(async () => {
  expect(errors).toEqual([]);
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe('skopeo push through the proxy', () => {
  it('alice pushes myorg/app:v1; it is upstream as team/myorg/app:v1, byte for byte', async () => {
    const pushed = await pushThroughProxy('myorg/app', 'alice:alice-pw');
    expect(pushed.code, describeRun(pushed)).toBe(0);
    expect(findLeaks(pushed.stdout + pushed.stderr, secretForms(registry.username!, registry.password!))).toEqual([]);

    expect(await catalog()).toContain(`${PREFIX}/myorg/app`);
    const direct = await skopeoInspect({ host: registry.host, repository: `${PREFIX}/myorg/app` }, { creds: registry.creds! });
    expect(direct.code, describeRun(direct)).toBe(0);
    expect(direct.json?.Digest).toBe(image.manifestDigest);
    const pulled = await skopeoCopyToOci({ host: registry.host, repository: `${PREFIX}/myorg/app` }, { creds: registry.creds! });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
  });

  it('anonymous clients pull it back through the proxy (anonymousPull), under the client name', async () => {
    const pulled = await skopeoCopyToOci({ host: proxyHost, repository: 'myorg/app' });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
  });

  it('the same push without credentials fails, and nothing reaches the registry', async () => {
    const pushed = await pushThroughProxy('myorg/anon', undefined);
    expect(pushed.code).not.toBe(0);
    expect(pushed.stderr).toMatch(/unauthorized|authentication required|denied/i);
    expect(await catalog()).not.toContain(`${PREFIX}/myorg/anon`);
  });

  it('bob (pull only) cannot push; nor can alice outside myorg/**, nor with a wrong password', async () => {
    for (const [repository, creds] of [
      ['myorg/bob', 'bob:bob-pw'],
      ['other/alice', 'alice:alice-pw'],
      ['myorg/wrong', 'alice:wrong'],
    ] as const) {
      const pushed = await pushThroughProxy(repository, creds);
      expect(pushed.code, `${repository} as ${creds.split(':')[0]}`).not.toBe(0);
    }
    const repositories = await catalog();
    for (const name of ['myorg/bob', 'other/alice', 'myorg/wrong']) expect(repositories).not.toContain(`${PREFIX}/${name}`);
  });
});

describe('upload API through the proxy with fetch (alice, Basic)', () => {
  const alice = { authorization: basic('alice', 'alice-pw') };

  it('cross-repository mount: both names mapped (201 from the registry, blob now in team/myorg/mounted)', async () => {
    const layer = image.layers[1]!;
    const response = await fetch(`${proxy.url}/v2/myorg/mounted/blobs/uploads/?mount=${layer.digest}&from=myorg/app`, {
      method: 'POST',
      headers: alice,
    });
    expect(response.status, await response.clone().text()).toBe(201);
    expect(response.headers.get('location')).toBe(`/v2/myorg/mounted/blobs/${layer.digest}`);
    expect(response.headers.get('docker-content-digest')).toBe(layer.digest);
    const direct = await upstream(`/v2/${PREFIX}/myorg/mounted/blobs/${layer.digest}`, { method: 'HEAD' });
    expect(direct.status).toBe(200);
    expect(direct.headers.get('content-length')).toBe(String(layer.size));
  });

  it('a mount from a repository the pusher may not pull is refused before the registry sees it', async () => {
    const response = await fetch(`${proxy.url}/v2/myorg/mounted2/blobs/uploads/?mount=${image.layers[0]!.digest}&from=other/x`, {
      method: 'POST',
      headers: { authorization: basic('carol', 'carol-pw') },
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { errors: unknown[] }).errors).toEqual([
      { code: 'DENIED', message: 'user carol may not pull this repository', detail: { name: 'other/x' } },
    ]);
    expect(await catalog()).not.toContain(`${PREFIX}/myorg/mounted2`);
  });

  it('chunked: POST, two PATCHes with Content-Range, PUT ?digest — every Location under the client name', async () => {
    const bytes = new Uint8Array(70_000).map((_, index) => (index * 7) % 251);
    const digest = sha256(bytes);
    const started = await fetch(`${proxy.url}/v2/myorg/chunked/blobs/uploads/`, { method: 'POST', headers: alice });
    expect(started.status).toBe(202);
    let location = started.headers.get('location')!;
    expect(location).toMatch(/^\/v2\/myorg\/chunked\/blobs\/uploads\/[0-9a-f-]{36}\?_state=/);
    expect(started.headers.get('range')).toBe('0-0');
    for (const [from, to] of [
      [0, 40_000],
      [40_000, bytes.length],
    ] as const) {
      const chunk = bytes.subarray(from, to);
      const patched = await fetch(new URL(location, proxy.url), {
        method: 'PATCH',
        headers: { ...alice, 'content-type': 'application/octet-stream', 'content-range': `${from}-${to - 1}`, 'content-length': String(chunk.length) },
        body: chunk,
      });
      expect(patched.status, await patched.clone().text()).toBe(202);
      expect(patched.headers.get('range')).toBe(`0-${to - 1}`);
      location = patched.headers.get('location')!;
      expect(location).toMatch(/^\/v2\/myorg\/chunked\/blobs\/uploads\//);
    }
    const url = new URL(location, proxy.url);
    url.searchParams.set('digest', digest);
    const finished = await fetch(url, { method: 'PUT', headers: { ...alice, 'content-length': '0' } });
    expect(finished.status, await finished.clone().text()).toBe(201);
    expect(finished.headers.get('location')).toBe(`/v2/myorg/chunked/blobs/${digest}`);
    const direct = await upstream(`/v2/${PREFIX}/myorg/chunked/blobs/${digest}`);
    expect(sha256(new Uint8Array(await direct.arrayBuffer()))).toBe(digest);
  });

  it('monolithic: POST ?digest= with the body (or, where the registry wants it, POST then one PUT)', async () => {
    const bytes = new Uint8Array(50_000).map((_, index) => (index * 13) % 256);
    const digest = sha256(bytes);
    const posted = await fetch(`${proxy.url}/v2/myorg/mono/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { ...alice, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
      body: bytes,
    });
    expect([201, 202]).toContain(posted.status);
    if (posted.status === 202) {
      // distribution 2.8 ignores a POST body and opens a session (OCI end-4b allows 202): finish with one PUT.
      const url = new URL(posted.headers.get('location')!, proxy.url);
      expect(url.pathname).toMatch(/^\/v2\/myorg\/mono\/blobs\/uploads\//);
      url.searchParams.set('digest', digest);
      const put = await fetch(url, {
        method: 'PUT',
        headers: { ...alice, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
        body: bytes,
      });
      expect(put.status, await put.clone().text()).toBe(201);
      expect(put.headers.get('location')).toBe(`/v2/myorg/mono/blobs/${digest}`);
    } else {
      expect(posted.headers.get('location')).toBe(`/v2/myorg/mono/blobs/${digest}`);
    }
    const through = await fetch(`${proxy.url}/v2/myorg/mono/blobs/${digest}`, { method: 'HEAD' });
    expect(through.status).toBe(200);
    expect(through.headers.get('docker-content-digest')).toBe(digest);
    const direct = await upstream(`/v2/${PREFIX}/myorg/mono/blobs/${digest}`);
    expect(sha256(new Uint8Array(await direct.arrayBuffer()))).toBe(digest);
  });

  it('a manifest PUT by tag lands under the mapped name; an anonymous one is challenged', async () => {
    const manifest = new Uint8Array(await (await fetch(`${proxy.url}/v2/myorg/app/manifests/v1`, { headers: { accept: MANIFEST_ACCEPT } })).arrayBuffer());
    const put = await fetch(`${proxy.url}/v2/myorg/app/manifests/v2`, {
      method: 'PUT',
      headers: { ...alice, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    expect(put.status, await put.clone().text()).toBe(201);
    expect(put.headers.get('location')).toBe(`/v2/myorg/app/manifests/${image.manifestDigest}`);
    const tags = (await (await upstream(`/v2/${PREFIX}/myorg/app/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags.sort()).toEqual(['v1', 'v2']);

    const anonymous = await fetch(`${proxy.url}/v2/myorg/app/manifests/v3`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe(
      `Bearer realm="${proxy.url}/_token",service="registry-proxy",scope="repository:myorg/app:pull,push"`,
    );
    await anonymous.body?.cancel();
  });
});
