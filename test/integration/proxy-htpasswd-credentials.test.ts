/**
 * (b) An htpasswd (Basic auth) upstream, the proxy holding the credentials: anonymous clients
 * pull without ever being challenged, and the credentials never appear in anything the proxy
 * sends back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFIX_CASES, UPSTREAM_REPO } from './harness/cases.ts';
import { KiB, makeImage, pushImage, type TestImage } from './harness/images.ts';
import { requireCommands } from './harness/process.ts';
import { fetchAsText, findLeaks, secretForms } from './harness/leaks.ts';
import { startProxy, type TestProxy } from './harness/proxy.ts';
import { startRecorder, type Recorder } from './harness/recorder.ts';
import { MANIFEST_ACCEPT, startRegistry, type Registry } from './harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci, skopeoInspect } from './harness/skopeo.ts';

let registry: Registry;
let image: TestImage;
let secrets: string[];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo', 'htpasswd');
  registry = await startRegistry({ auth: 'htpasswd', username: 'proxyuser', password: 'htp-S3cret-do-not-leak' });
  cleanups.push(() => registry.stop());
  secrets = secretForms(registry.username!, registry.password!);
  image = await makeImage({ layers: [256 * KiB, 512 * KiB], seed: 'htpasswd' });
  cleanups.push(() => image.remove());
  await pushImage(image, registry, UPSTREAM_REPO, { creds: registry.creds! });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

describe.each(PREFIX_CASES)('htpasswd upstream, proxy holds credentials, $label', ({ repositoryPrefix, clientRepo }) => {
  let proxy: TestProxy;
  let recorder: Recorder;
  beforeAll(async () => {
    proxy = await startProxy({
      upstream: registry.url,
      credentials: { username: registry.username!, password: registry.password! },
      ...(repositoryPrefix ? { repositoryPrefix } : {}),
    });
    cleanups.push(() => proxy.stop());
    recorder = await startRecorder(proxy.url);
    cleanups.push(() => recorder.stop());
  });
  afterAll(() => {
    // `proxy` is unset when startProxy threw in beforeAll.
    expect(proxy?.errors ?? []).toEqual([]);
  });

  it('does not challenge anonymous clients', async () => {
    const { response, text } = await fetchAsText(`${proxy.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('www-authenticate')).toBeNull();
    expect(findLeaks(text, secrets)).toEqual([]);
  });

  it('skopeo inspect and copy anonymously, byte for byte, with no credential in any response or in skopeo --debug', async () => {
    recorder.reset();
    const inspected = await skopeoInspect({ host: recorder.host, repository: clientRepo }, { debug: true });
    expect(inspected.code, describeRun(inspected)).toBe(0);
    expect(inspected.json?.Digest).toBe(image.manifestDigest);
    const pulled = await skopeoCopyToOci({ host: recorder.host, repository: clientRepo }, { debug: true });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);

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
