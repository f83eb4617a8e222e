/**
 * Proves the integration harness itself, with no proxy involved: each registry auth mode
 * starts, takes a push from skopeo, and gives the same bytes back to skopeo.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeImage, pushImage, KiB, MiB, type TestImage } from './harness/images.ts';
import { fetchAsText, findLeaks, secretForms } from './harness/leaks.ts';
import { useCleanups } from './harness/lifecycle.ts';
import { requireCommands } from './harness/process.ts';
import { startRecorder } from './harness/recorder.ts';
import { MANIFEST_ACCEPT, startRegistry, type Registry } from './harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci, skopeoInspect } from './harness/skopeo.ts';
import { startTokenIssuer, type TokenIssuer } from './harness/token-issuer.ts';

const REPO = 'team/project/app';
let image: TestImage;
const cleanups = useCleanups();

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo', 'htpasswd', 'openssl');
  image = await makeImage({ layers: [200 * KiB, 1 * MiB], seed: 'harness' });
  cleanups.push(() => image.remove());
});

async function pullAndCompare(registry: Registry, creds?: string): Promise<void> {
  const pulled = await skopeoCopyToOci({ host: registry.host, repository: REPO }, creds ? { creds } : {});
  cleanups.push(() => pulled.remove());
  expect(pulled.code, describeRun(pulled)).toBe(0);
  const comparison = await compareLayout(pulled.dir, image);
  expect(comparison.problems).toEqual([]);
  expect(comparison.blobs.filter((b) => b.role === 'layer' && b.sameBytes)).toHaveLength(2);
}

describe('registry auth: none', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'none' });
    cleanups.push(() => registry.stop());
    await pushImage(image, registry, REPO);
  });

  it('answers /v2/ with 200 and the API version header', async () => {
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('inspects and pulls back the pushed image byte for byte', async () => {
    const inspected = await skopeoInspect({ host: registry.host, repository: REPO }, { raw: true });
    expect(inspected.code, describeRun(inspected)).toBe(0);
    expect(inspected.stdout.trim()).toBe(readFileSync(image.manifest.path, 'utf8'));
    await pullAndCompare(registry);
  });

  it('serves blob HEAD with Content-Length and Docker-Content-Digest, and Range with 206', async () => {
    const layer = image.layers[1]!;
    const head = await fetch(`${registry.url}/v2/${REPO}/blobs/${layer.digest}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(layer.size));
    expect(head.headers.get('docker-content-digest')).toBe(layer.digest);
    const ranged = await fetch(`${registry.url}/v2/${REPO}/blobs/${layer.digest}`, { headers: { Range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect((await ranged.arrayBuffer()).byteLength).toBe(100);
    const manifest = await fetch(`${registry.url}/v2/${REPO}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    await manifest.body?.cancel();
  });

  it('stop() really stops the registry', async () => {
    const other = await startRegistry({ auth: 'none' });
    await other.stop();
    await expect(fetch(`${other.url}/v2/`)).rejects.toThrow();
  });
});

describe('registry auth: htpasswd', () => {
  let registry: Registry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: 'htpasswd' });
    cleanups.push(() => registry.stop());
    await pushImage(image, registry, REPO, { creds: registry.creds! });
  });

  it('the recorder sees every exchange and the leak check finds a password where it is', async () => {
    const recorder = await startRecorder(registry.url, {
      redirect: (_method, path) => (path === '/redirect-me' ? `${registry.url}/v2/` : undefined),
    });
    cleanups.push(() => recorder.stop());
    const basic = `Basic ${Buffer.from(registry.creds!).toString('base64')}`;
    const ok = await fetch(`${recorder.url}/v2/`, { headers: { Authorization: basic } });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    const redirected = await fetch(`${recorder.url}/redirect-me`, { redirect: 'manual' });
    expect(redirected.status).toBe(307);
    expect(redirected.headers.get('location')).toBe(`${registry.url}/v2/`);
    expect(recorder.exchanges.map((e) => [e.method, e.path, e.status])).toEqual([
      ['GET', '/v2/', 200],
      ['GET', '/redirect-me', 307],
    ]);
    expect(recorder.exchanges[0]!.requestHeaders.authorization).toBe(basic);
    // Negative control: the detector finds each form of the secret.
    const secrets = secretForms(registry.username!, registry.password!);
    expect(findLeaks(`x ${basic} y`, secrets).length).toBeGreaterThan(0);
    expect(findLeaks(`password=${registry.password!}`, secrets).length).toBeGreaterThan(0);
    expect(findLeaks(recorder.transcript(), secrets)).toEqual([]);
    const { text } = await fetchAsText(`${registry.url}/v2/`);
    expect(text).toMatch(/^401\n/);
    expect(text.toLowerCase()).toContain('www-authenticate: basic realm="test-basic"');
  });

  it('challenges anonymous clients with Basic', async () => {
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="test-basic"/);
    const inspected = await skopeoInspect({ host: registry.host, repository: REPO });
    expect(inspected.code).not.toBe(0);
  });

  it('pulls back the image with credentials', async () => {
    await pullAndCompare(registry, registry.creds);
  });
});

describe('registry auth: token (ES256, anonymous pull allowed)', () => {
  let issuer: TokenIssuer;
  let registry: Registry;
  const [user, password] = ['testuser', 'testpass-s3cret'];
  beforeAll(async () => {
    issuer = await startTokenIssuer({ anonymous: 'pull', users: { [user]: password } });
    cleanups.push(() => issuer.stop());
    registry = await startRegistry({ auth: 'token', issuer });
    cleanups.push(() => registry.stop());
    await pushImage(image, registry, REPO, { creds: `${user}:${password}` });
  });

  it('recorded the push scopes, with Basic auth', () => {
    expect(issuer.scopes()).toContain(`repository:${REPO}:pull,push`);
    expect(issuer.requests.every((r) => r.authorization && r.authorizationScheme === 'Basic' && r.authenticated)).toBe(true);
  });

  it('challenges with the issuer realm', async () => {
    const response = await fetch(`${registry.url}/v2/${REPO}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(response.status).toBe(401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`realm="${issuer.realm}"`);
    expect(challenge).toContain(`service="${issuer.service}"`);
    expect(challenge).toContain(`scope="repository:${REPO}:pull"`);
  });

  it('pulls with credentials and anonymously (pull-only), recording each token request', async () => {
    issuer.reset();
    await pullAndCompare(registry, `${user}:${password}`);
    expect(issuer.requests.length).toBeGreaterThan(0);
    expect(issuer.requests.some((r) => r.authenticated && r.scopes.includes(`repository:${REPO}:pull`))).toBe(true);
    issuer.reset();
    await pullAndCompare(registry);
    expect(issuer.requests.length).toBeGreaterThan(0);
    expect(issuer.requests.every((r) => !r.authorization && !r.authenticated)).toBe(true);
    expect(issuer.requests.some((r) => r.scopes.includes(`repository:${REPO}:pull`))).toBe(true);
  });

  it('issues tokens for GET with repeated scope and for the OAuth2 POST form', async () => {
    const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const get = await fetch(
      `${issuer.realm}?service=${issuer.service}&scope=${encodeURIComponent(`repository:${REPO}:pull`)}&scope=${encodeURIComponent('repository:other:pull,push')}`,
      { headers: { Authorization: basic } },
    );
    expect(get.status).toBe(200);
    const body = (await get.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(issuer.requests.at(-1)?.scopes).toEqual([`repository:${REPO}:pull`, 'repository:other:pull,push']);
    const manifest = await fetch(`${registry.url}/v2/${REPO}/manifests/v1`, {
      headers: { Accept: MANIFEST_ACCEPT, Authorization: `Bearer ${body.token}` },
    });
    expect(manifest.status).toBe(200);
    await manifest.body?.cancel();

    const post = await fetch(issuer.realm, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: user,
        password,
        service: issuer.service,
        client_id: 'harness',
        scope: `repository:${REPO}:pull registry:catalog:*`,
      }),
    });
    expect(post.status).toBe(200);
    const last = issuer.requests.at(-1)!;
    expect(last.method).toBe('POST');
    expect(last.authorization).toBe(false);
    expect(last.authenticated).toBe(true);
    expect(last.scopes).toEqual([`repository:${REPO}:pull`, 'registry:catalog:*']);
    expect(last.form?.client_id).toEqual(['harness']);
  });

  it('refuses bad credentials with 401', async () => {
    const response = await fetch(`${issuer.realm}?service=${issuer.service}&scope=repository:${REPO}:pull`, {
      headers: { Authorization: `Basic ${Buffer.from(`${user}:wrong`).toString('base64')}` },
    });
    expect(response.status).toBe(401);
    await response.body?.cancel();
  });
});

describe('registry auth: token (RS256, no anonymous access)', () => {
  let issuer: TokenIssuer;
  let registry: Registry;
  beforeAll(async () => {
    issuer = await startTokenIssuer({ algorithm: 'RS256', anonymous: 'none' });
    cleanups.push(() => issuer.stop());
    registry = await startRegistry({ auth: 'token', issuer });
    cleanups.push(() => registry.stop());
    await pushImage(image, registry, REPO, { creds: 'testuser:testpass-s3cret' });
  });

  it('pulls with credentials, and refuses anonymous pulls', async () => {
    await pullAndCompare(registry, 'testuser:testpass-s3cret');
    const anonymous = await skopeoInspect({ host: registry.host, repository: REPO });
    expect(anonymous.code).not.toBe(0);
  });
});
