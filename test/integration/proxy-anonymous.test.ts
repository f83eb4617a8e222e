/**
 * (a) An anonymous upstream registry behind the proxy: skopeo inspect, list-tags and copy
 * through the proxy, layers compared byte for byte, with and without a repository prefix.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PREFIX_CASES, UPSTREAM_REPO } from './harness/cases.ts';
import { KiB, type TestImage } from './harness/images.ts';
import { expectNoProxyErrors, startCleanedUpProxy, startRegistryWithImage, useCleanups } from './harness/lifecycle.ts';
import { requireCommands } from './harness/process.ts';
import type { TestProxy } from './harness/proxy.ts';
import { MANIFEST_ACCEPT, type Registry } from './harness/registry.ts';
import { compareLayout, describe as describeRun, runSkopeo, skopeoCopyToOci, skopeoInspect } from './harness/skopeo.ts';

let registry: Registry;
let image: TestImage;
const cleanups = useCleanups();

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo');
  ({ registry, image } = await startRegistryWithImage(cleanups, {
    registry: { auth: 'none' },
    image: { layers: [300 * KiB, 700 * KiB], seed: 'anonymous' },
    repository: UPSTREAM_REPO,
  }));
});

describe.each(PREFIX_CASES)('anonymous upstream, $label', ({ repositoryPrefix, clientRepo }) => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startCleanedUpProxy(cleanups, { upstream: registry.url, ...(repositoryPrefix ? { repositoryPrefix } : {}) });
  });
  afterAll(() => expectNoProxyErrors(proxy));

  it('answers /v2/ with 200 and no challenge', async () => {
    const response = await fetch(`${proxy.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('www-authenticate')).toBeNull();
    await response.body?.cancel();
  });

  it('skopeo inspect: the manifest as pushed, with its digest', async () => {
    const raw = await skopeoInspect({ host: proxy.host, repository: clientRepo }, { raw: true });
    expect(raw.code, describeRun(raw)).toBe(0);
    expect(raw.stdout.trim()).toBe(readFileSync(image.manifest.path, 'utf8'));
    const inspected = await skopeoInspect({ host: proxy.host, repository: clientRepo });
    expect(inspected.code, describeRun(inspected)).toBe(0);
    expect(inspected.json?.Digest).toBe(image.manifestDigest);
    expect(inspected.json?.Layers).toEqual(image.layers.map((l) => l.digest));
  });

  it('skopeo list-tags lists the tag', async () => {
    const listed = await runSkopeo(['list-tags', '--tls-verify=false', '--no-creds', `docker://${proxy.host}/${clientRepo}`]);
    expect(listed.code, describeRun(listed)).toBe(0);
    expect((JSON.parse(listed.stdout) as { Tags: string[] }).Tags).toEqual(['v1']);
  });

  it('tags/list names the repository as the client knows it', async () => {
    const response = await fetch(`${proxy.url}/v2/${clientRepo}/tags/list`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ name: clientRepo, tags: ['v1'] });
  });

  it('skopeo copy: every blob byte for byte', async () => {
    const pulled = await skopeoCopyToOci({ host: proxy.host, repository: clientRepo });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    const comparison = await compareLayout(pulled.dir, image);
    expect(comparison.problems).toEqual([]);
  });

  it('manifest GET/HEAD carry Docker-Content-Digest and the OCI content type', async () => {
    for (const method of ['GET', 'HEAD']) {
      const response = await fetch(`${proxy.url}/v2/${clientRepo}/manifests/v1`, { method, headers: { Accept: MANIFEST_ACCEPT } });
      expect(response.status, method).toBe(200);
      expect(response.headers.get('docker-content-digest'), method).toBe(image.manifestDigest);
      expect(response.headers.get('content-type'), method).toBe('application/vnd.oci.image.manifest.v1+json');
      expect(response.headers.get('content-length'), method).toBe(String(image.manifest.size));
      await response.body?.cancel();
    }
  });

  it('an unknown repository is a 404 with a registry error body', async () => {
    const response = await fetch(`${proxy.url}/v2/${clientRepo}-missing/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { errors: Array<{ code: string }> };
    expect(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN']).toContain(body.errors[0]?.code);
  });

  if (repositoryPrefix) {
    it('does not accept the upstream name again under the prefix (no double prefix shortcut)', async () => {
      // The client's `team/project/app` is the upstream's `team/project/team/project/app`.
      const response = await fetch(`${proxy.url}/v2/${UPSTREAM_REPO}/manifests/v1`, { headers: { Accept: MANIFEST_ACCEPT } });
      expect(response.status).toBe(404);
      await response.body?.cancel();
    });
  }
});
