/**
 * Issue 4 (2): skopeo pulls `alpine` (no `library/`) through a Docker Hub-like route. A real
 * distribution registry holds `library/alpine:latest`; the proxy's route sets
 * `officialImages: true`, alone and inside a routing table next to a path-prefixed route to the
 * same registry.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KiB, type TestImage } from './harness/images.ts';
import { expectNoProxyErrors, startCleanedUpProxy, startRegistryWithImage, useCleanups } from './harness/lifecycle.ts';
import { requireCommands } from './harness/process.ts';
import type { TestProxy, TestProxyOptions } from './harness/proxy.ts';
import { MANIFEST_ACCEPT, type Registry } from './harness/registry.ts';
import { compareLayout, describe as describeRun, runSkopeo, skopeoCopyToOci, skopeoInspect } from './harness/skopeo.ts';

let registry: Registry;
let image: TestImage;
const cleanups = useCleanups();

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo');
  ({ registry, image } = await startRegistryWithImage(cleanups, {
    registry: { auth: 'none' },
    image: { layers: [200 * KiB, 600 * KiB], seed: 'official-alpine', tag: 'latest' },
    repository: 'library/alpine',
  }));
});

const CONFIGS: Array<{ label: string; options: () => TestProxyOptions }> = [
  { label: 'a single upstream with officialImages', options: () => ({ upstream: registry.url, officialImages: true }) },
  {
    label: 'a default route with officialImages after a path-prefixed route to the same registry',
    options: () => ({
      upstreams: [
        { upstream: registry.url, pathPrefix: 'raw', name: 'raw' },
        { upstream: registry.url, officialImages: true, name: 'hub-like' },
      ],
    }),
  },
];

describe.each(CONFIGS)('$label', ({ options }) => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startCleanedUpProxy(cleanups, options());
  });
  afterAll(() => expectNoProxyErrors(proxy));

  it('skopeo copy docker://PROXY/alpine:latest is byte-identical to library/alpine:latest', async () => {
    const pulled = await skopeoCopyToOci({ host: proxy.host, repository: 'alpine', tag: 'latest' });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
  });

  it('skopeo inspect --raw alpine: the manifest as pushed; library/alpine is the same image', async () => {
    const raw = await skopeoInspect({ host: proxy.host, repository: 'alpine', tag: 'latest' }, { raw: true });
    expect(raw.code, describeRun(raw)).toBe(0);
    expect(raw.stdout.trim()).toBe(readFileSync(image.manifest.path, 'utf8'));
    const full = await skopeoInspect({ host: proxy.host, repository: 'library/alpine', tag: 'latest' });
    expect(full.code, describeRun(full)).toBe(0);
    expect(full.json?.Digest).toBe(image.manifestDigest);
  });

  it('skopeo list-tags alpine, and tags/list names it alpine', async () => {
    const listed = await runSkopeo(['list-tags', '--tls-verify=false', '--no-creds', `docker://${proxy.host}/alpine`]);
    expect(listed.code, describeRun(listed)).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ Repository: `${proxy.host}/alpine`, Tags: ['latest'] });
    const response = await fetch(`${proxy.url}/v2/alpine/tags/list`);
    expect(await response.json()).toEqual({ name: 'alpine', tags: ['latest'] });
  });

  it('a missing official image is a 404 naming alpine-missing, not library/alpine-missing', async () => {
    const response = await fetch(`${proxy.url}/v2/alpine-missing/tags/list`);
    expect(response.status).toBe(404);
    const body = (await response.json()) as { errors: { code: string; detail: unknown }[] };
    expect(body.errors[0]).toMatchObject({ code: 'NAME_UNKNOWN', detail: { name: 'alpine-missing' } });
  });

  it('containerd-style: ?ns=docker.io is accepted and not sent upstream', async () => {
    const response = await fetch(`${proxy.url}/v2/alpine/manifests/latest?ns=docker.io`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(image.manifestDigest);
    await response.body?.cancel();
  });
});

describe('the path-prefixed route next to it does not add library/', () => {
  it('PROXY/raw/library/alpine is library/alpine; PROXY/raw/alpine is not found', async () => {
    const proxy = await startCleanedUpProxy(cleanups, CONFIGS[1]!.options());
    const pulled = await skopeoCopyToOci({ host: proxy.host, repository: 'raw/library/alpine', tag: 'latest' });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
    const missing = await fetch(`${proxy.url}/v2/raw/alpine/manifests/latest`, { headers: { accept: MANIFEST_ACCEPT } });
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
    expect(proxy.errors).toEqual([]);
  });
});
