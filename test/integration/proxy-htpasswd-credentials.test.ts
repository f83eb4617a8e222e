/**
 * (b) An htpasswd (Basic auth) upstream, the proxy holding the credentials: anonymous clients
 * pull without ever being challenged, and the credentials never appear in anything the proxy
 * sends back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFIX_CASES, UPSTREAM_REPO } from './harness/cases.ts';
import { KiB, type TestImage } from './harness/images.ts';
import { requireCommands } from './harness/process.ts';
import { fetchAsText, findLeaks, secretForms } from './harness/leaks.ts';
import { expectNoProxyErrors, startRecordedProxy, startRegistryWithImage, useCleanups } from './harness/lifecycle.ts';
import type { TestProxy } from './harness/proxy.ts';
import { expectPullOf } from './harness/pull-check.ts';
import type { Recorder } from './harness/recorder.ts';
import { MANIFEST_ACCEPT, type Registry } from './harness/registry.ts';

let registry: Registry;
let image: TestImage;
let secrets: string[];
const cleanups = useCleanups();

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo', 'htpasswd');
  ({ registry, image } = await startRegistryWithImage(cleanups, {
    registry: { auth: 'htpasswd', username: 'proxyuser', password: 'htp-S3cret-do-not-leak' },
    image: { layers: [256 * KiB, 512 * KiB], seed: 'htpasswd' },
    repository: UPSTREAM_REPO,
  }));
  secrets = secretForms(registry.username!, registry.password!);
});

describe.each(PREFIX_CASES)('htpasswd upstream, proxy holds credentials, $label', ({ repositoryPrefix, clientRepo }) => {
  let proxy: TestProxy;
  let recorder: Recorder;
  beforeAll(async () => {
    ({ proxy, recorder } = await startRecordedProxy(cleanups, {
      upstream: registry.url,
      credentials: { username: registry.username!, password: registry.password! },
      ...(repositoryPrefix ? { repositoryPrefix } : {}),
    }));
  });
  afterAll(() => expectNoProxyErrors(proxy));

  it('does not challenge anonymous clients', async () => {
    const { response, text } = await fetchAsText(`${proxy.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(findLeaks(text, secrets)).toEqual([]);
  });

  it('skopeo inspect and copy anonymously, byte for byte, with no credential in any response or in skopeo --debug', async () => {
    recorder.reset();
    const { inspected, pulled } = await expectPullOf(image, { host: recorder.host, repository: clientRepo }, cleanups, { debug: true });

    expect(recorder.exchanges.length).toBeGreaterThan(3);
    expect(recorder.exchanges.filter((e) => e.status === 401)).toEqual([]);
    expect(findLeaks(recorder.transcript(), secrets)).toEqual([]);
    expect(findLeaks(inspected.stderr + inspected.stdout, secrets)).toEqual([]);
    expect(findLeaks(pulled.stderr + pulled.stdout, secrets)).toEqual([]);
  });

  it("ignores the client's own Authorization header", async () => {
    const { response, text } = await fetchAsText(`${proxy.url}/v2/${clientRepo}/manifests/v1`, {
      headers: { Accept: MANIFEST_ACCEPT, Authorization: 'Basic ' + Buffer.from('mallory:wrong').toString('base64') },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    expect(findLeaks(text, secrets)).toEqual([]);
  });

  it('error responses do not leak credentials either', async () => {
    for (const path of [`/v2/${clientRepo}/manifests/nope`, `/v2/${clientRepo}-missing/tags/list`, '/_token?scope=repository:x:pull', '/v2/_catalog']) {
      const { text } = await fetchAsText(`${proxy.url}${path}`, { headers: { Accept: MANIFEST_ACCEPT } });
      expect(findLeaks(text, secrets), path).toEqual([]);
    }
  });
});
