/**
 * (c) A token-auth upstream with the client doing the dance through the proxy: the proxy
 * rewrites the challenge's realm to its own `/_token`, forwards token requests to the upstream
 * issuer with every scope mapped through the prefix, and passes Bearer tokens on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doublePrefixed, parseChallenge, PREFIX_CASES, UPSTREAM_PULL_SCOPE, UPSTREAM_REPO } from './harness/cases.ts';
import { KiB, type TestImage } from './harness/images.ts';
import { expectNoProxyErrors, startRecordedProxy, startTokenRegistryWithImage, useCleanups } from './harness/lifecycle.ts';
import { requireCommands } from './harness/process.ts';
import type { TestProxy } from './harness/proxy.ts';
import { expectPullOf } from './harness/pull-check.ts';
import type { Recorder } from './harness/recorder.ts';
import { MANIFEST_ACCEPT, type Registry } from './harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci, skopeoInspect } from './harness/skopeo.ts';
import type { TokenIssuer } from './harness/token-issuer.ts';

const USER = 'testuser';
const PASSWORD = 'tok-S3cret';
let issuer: TokenIssuer;
let registry: Registry;
let image: TestImage;
const cleanups = useCleanups();

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo', 'openssl');
  ({ issuer, registry, image } = await startTokenRegistryWithImage(cleanups, {
    anonymous: 'pull',
    username: USER,
    password: PASSWORD,
    image: { layers: [128 * KiB, 640 * KiB], seed: 'token-client' },
    repository: UPSTREAM_REPO,
  }));
});

describe.each(PREFIX_CASES)('token upstream, client does the dance, $label', ({ repositoryPrefix, clientRepo }) => {
  let proxy: TestProxy;
  let recorder: Recorder;
  beforeAll(async () => {
    ({ proxy, recorder } = await startRecordedProxy(cleanups, { upstream: registry.url, ...(repositoryPrefix ? { repositoryPrefix } : {}) }));
  });
  afterAll(() => expectNoProxyErrors(proxy));

  it('challenges /v2/ with its own realm and the upstream service', async () => {
    const response = await fetch(`${proxy.url}/v2/`);
    expect(response.status).toBe(401);
    const { scheme, params } = parseChallenge(response.headers.get('www-authenticate'));
    expect(scheme).toBe('Bearer');
    expect(params.realm).toBe(`${proxy.url}/_token`);
    expect(params.service).toBe(issuer.service);
    await response.body?.cancel();
  });

  it("challenges a manifest GET with the client's repository name in scope", async () => {
    const response = await fetch(`${proxy.url}/v2/${clientRepo}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(response.status).toBe(401);
    const { params } = parseChallenge(response.headers.get('www-authenticate'));
    expect(params.realm).toBe(`${proxy.url}/_token`);
    // Either the scope is mapped back to the client's name or it is dropped; never the upstream name.
    if (params.scope !== undefined) expect(params.scope).toBe(`repository:${clientRepo}:pull`);
    await response.body?.cancel();
  });

  it('skopeo with --src-creds: inspect + copy byte for byte; the issuer saw Basic auth and prefixed scopes', async () => {
    issuer.reset();
    recorder.reset();
    await expectPullOf(image, { host: recorder.host, repository: clientRepo }, cleanups, { creds: `${USER}:${PASSWORD}` });

    // skopeo's token requests went to the proxy's realm (through the recorder), not to the issuer.
    expect(recorder.exchanges.some((e) => e.path.startsWith('/_token'))).toBe(true);
    expect(issuer.requests.length).toBeGreaterThan(0);
    for (const request of issuer.requests) {
      expect(request.authorizationScheme, JSON.stringify(request)).toBe('Basic');
      expect(request.user).toBe(USER);
      expect(request.authenticated).toBe(true);
      expect(request.service).toBe(issuer.service);
    }
    const scopes = issuer.scopes();
    expect(doublePrefixed(scopes)).toEqual([]);
    expect(new Set(scopes)).toEqual(new Set([UPSTREAM_PULL_SCOPE]));
  });

  it('skopeo anonymous: the issuer allows pull-only and saw no Authorization', async () => {
    issuer.reset();
    const pulled = await skopeoCopyToOci({ host: recorder.host, repository: clientRepo });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
    expect(issuer.requests.length).toBeGreaterThan(0);
    expect(issuer.requests.filter((r) => r.authorization)).toEqual([]);
    expect(new Set(issuer.scopes())).toEqual(new Set([UPSTREAM_PULL_SCOPE]));
  });

  it('GET /_token with repeated scope params (containerd style) maps every scope', async () => {
    issuer.reset();
    const query = new URLSearchParams({ service: issuer.service });
    query.append('scope', `repository:${clientRepo}:pull`);
    query.append('scope', `repository:${clientRepo}-other:pull`);
    const response = await fetch(`${proxy.url}/_token?${query}`, {
      headers: { Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token?: string; access_token?: string };
    expect(body.token ?? body.access_token).toBeTruthy();
    expect(issuer.requests).toHaveLength(1);
    expect(issuer.requests[0]!.query.scope).toEqual([UPSTREAM_PULL_SCOPE, `repository:${UPSTREAM_REPO}-other:pull`]);
    expect(issuer.requests[0]!.authorizationScheme).toBe('Basic');

    const manifest = await fetch(`${proxy.url}/v2/${clientRepo}/manifests/v1`, {
      headers: { Accept: MANIFEST_ACCEPT, Authorization: `Bearer ${body.token ?? body.access_token}` },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    await manifest.body?.cancel();
  });

  it('POST /_token (OAuth2 password grant) maps the space-separated scope in the form body', async () => {
    issuer.reset();
    const response = await fetch(`${proxy.url}/_token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        username: USER,
        password: PASSWORD,
        service: issuer.service,
        client_id: 'integration-test',
        scope: `repository:${clientRepo}:pull repository:${clientRepo}-other:pull,push`,
      }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { token?: string; access_token?: string };
    expect(body.access_token ?? body.token).toBeTruthy();
    expect(issuer.requests).toHaveLength(1);
    const [request] = issuer.requests;
    expect(request!.method).toBe('POST');
    expect(request!.form?.scope).toEqual([`${UPSTREAM_PULL_SCOPE} repository:${UPSTREAM_REPO}-other:pull,push`]);
    expect(request!.form?.grant_type).toEqual(['password']);
    expect(request!.form?.client_id).toEqual(['integration-test']);
    expect(request!.authenticated).toBe(true);
    expect(doublePrefixed(issuer.scopes())).toEqual([]);
  });

  it("passes the issuer's 401 for wrong credentials back to the client", async () => {
    issuer.reset();
    const response = await fetch(`${proxy.url}/_token?service=${issuer.service}&scope=repository:${clientRepo}:pull`, {
      headers: { Authorization: `Basic ${Buffer.from(`${USER}:wrong`).toString('base64')}` },
    });
    expect(response.status).toBe(401);
    await response.body?.cancel();
    const failed = await skopeoInspect({ host: proxy.host, repository: clientRepo }, { creds: `${USER}:wrong` });
    expect(failed.code).not.toBe(0);
    expect(issuer.requests.every((r) => r.status === 401)).toBe(true);
  });
});
