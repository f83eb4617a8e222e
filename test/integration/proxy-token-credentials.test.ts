/**
 * (d) A token-auth upstream with the proxy holding the credentials: the proxy does the token
 * dance itself with pull-only prefixed scopes, clients are never challenged, and neither the
 * password nor the upstream tokens the proxy obtained ever reach a client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doublePrefixed, PREFIX_CASES, UPSTREAM_PULL_SCOPE, UPSTREAM_REPO } from './harness/cases.ts';
import { KiB, type TestImage } from './harness/images.ts';
import { fetchAsText, findLeaks, secretForms } from './harness/leaks.ts';
import { expectNoProxyErrors, startRecordedProxy, startTokenRegistryWithImage, useCleanups } from './harness/lifecycle.ts';
import { requireCommands } from './harness/process.ts';
import type { TestProxy } from './harness/proxy.ts';
import { expectPullOf } from './harness/pull-check.ts';
import type { Recorder } from './harness/recorder.ts';
import { MANIFEST_ACCEPT, type Registry } from './harness/registry.ts';
import type { TokenIssuer } from './harness/token-issuer.ts';

const USER = 'robot';
const PASSWORD = 'robot-S3cret-never-shown';
let issuer: TokenIssuer;
let registry: Registry;
let image: TestImage;
const cleanups = useCleanups();

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo', 'openssl');
  // Anonymous callers get a token with no access (a private repository).
  ({ issuer, registry, image } = await startTokenRegistryWithImage(cleanups, {
    anonymous: 'none',
    username: USER,
    password: PASSWORD,
    image: { layers: [192 * KiB, 384 * KiB], seed: 'token-credentials' },
    repository: UPSTREAM_REPO,
  }));
});

/** The password forms plus every token the issuer handed out since the last reset. */
function secrets(): string[] {
  return [...secretForms(USER, PASSWORD), ...issuer.requests.flatMap((r) => (r.token ? [r.token] : []))];
}

describe.each(PREFIX_CASES)('token upstream, proxy holds credentials, $label', ({ repositoryPrefix, clientRepo }) => {
  let proxy: TestProxy;
  let recorder: Recorder;
  beforeAll(async () => {
    ({ proxy, recorder } = await startRecordedProxy(cleanups, {
      upstream: registry.url,
      credentials: { username: USER, password: PASSWORD },
      ...(repositoryPrefix ? { repositoryPrefix } : {}),
    }));
  });
  afterAll(() => expectNoProxyErrors(proxy));

  it('anonymous skopeo inspect + copy byte for byte, never challenged', async () => {
    issuer.reset();
    recorder.reset();
    const { inspected, pulled } = await expectPullOf(image, { host: recorder.host, repository: clientRepo }, cleanups, { debug: true });

    expect(recorder.exchanges.filter((e) => e.status === 401).map((e) => `${e.method} ${e.path}`)).toEqual([]);
    expect(recorder.exchanges.filter((e) => e.path.startsWith('/_token'))).toEqual([]);

    // The proxy asked the issuer itself: with its credentials, for pull on the prefixed name only.
    expect(issuer.requests.length).toBeGreaterThan(0);
    for (const request of issuer.requests) {
      expect(request.authorization, JSON.stringify(request)).toBe(true);
      expect(request.user).toBe(USER);
      expect(request.authenticated).toBe(true);
      expect(request.status).toBe(200);
    }
    const scopes = issuer.scopes();
    expect(doublePrefixed(scopes)).toEqual([]);
    expect(new Set(scopes)).toEqual(new Set([UPSTREAM_PULL_SCOPE]));

    // Neither the password nor the proxy's upstream tokens reached the client.
    expect(findLeaks(recorder.transcript(), secrets())).toEqual([]);
    expect(findLeaks(inspected.stderr + inspected.stdout, secrets())).toEqual([]);
    expect(findLeaks(pulled.stderr + pulled.stdout, secrets())).toEqual([]);
  });

  it('answers /v2/ with 200 and no challenge', async () => {
    const { response, text } = await fetchAsText(`${proxy.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(findLeaks(text, secrets())).toEqual([]);
  });

  it("ignores the client's own Authorization and never forwards it to the issuer", async () => {
    issuer.reset();
    const { response, text } = await fetchAsText(`${proxy.url}/v2/${clientRepo}/manifests/v1`, {
      headers: { Accept: MANIFEST_ACCEPT, Authorization: 'Bearer not-a-real-token' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    expect(issuer.requests.filter((r) => r.authorizationScheme !== 'Basic')).toEqual([]);
    expect(findLeaks(text, secrets())).toEqual([]);
  });

  it('a repository outside what the token grants is an error without secrets', async () => {
    for (const path of [`/v2/${clientRepo}/manifests/nope`, `/v2/${clientRepo}-missing/manifests/v1`, `/v2/${clientRepo}/blobs/sha256:${'0'.repeat(64)}`]) {
      const { response, text } = await fetchAsText(`${proxy.url}${path}`, { headers: { Accept: MANIFEST_ACCEPT } });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(findLeaks(text, secrets()), path).toEqual([]);
    }
    expect(doublePrefixed(issuer.scopes())).toEqual([]);
  });
});
