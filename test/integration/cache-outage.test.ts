/**
 * The pull-through cache with real parts: CNCF distribution as the upstream (behind a recording
 * tap that counts what reaches it), the Node adapter with the filesystem store, and skopeo
 * pulling. A cold pull fetches each blob once, a warm pull by tag asks one HEAD, and with the
 * upstream stopped the cached image still pulls byte for byte.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsCacheStore } from '../../adapters/cache/fs-store.ts';
import { UPSTREAM_REPO } from './harness/cases.ts';
import { KiB, makeImage, MiB, pushImage, type TestImage } from './harness/images.ts';
import { startCleanedUpProxy, useCleanups } from './harness/lifecycle.ts';
import { requireCommands } from './harness/process.ts';
import type { TestProxy } from './harness/proxy.ts';
import { startRecorder, type Recorder } from './harness/recorder.ts';
import { startRegistry, type Registry } from './harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci } from './harness/skopeo.ts';

const cleanups = useCleanups();
let image: TestImage;
let registry: Registry;
let tap: Recorder;
let proxy: TestProxy;

beforeAll(async () => {
  await requireCommands('docker-registry', 'skopeo');
  image = await makeImage({ layers: [8 * MiB, 100 * KiB], seed: 'cache' });
  cleanups.push(() => image.remove());
  registry = await startRegistry({ auth: 'none' });
  cleanups.push(() => registry.stop());
  await pushImage(image, registry, UPSTREAM_REPO);
  tap = await startRecorder(registry.url);
  cleanups.push(() => tap.stop());
  const dir = await mkdtemp(join(tmpdir(), 'rp-cache-it-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  proxy = await startCleanedUpProxy(cleanups, { upstream: tap.url, cache: { store: new FsCacheStore(dir) } });
});

afterAll(() => {
  // The only thing the proxy may report is that it served stale answers during the outage.
  expect(proxy?.errors.filter((error) => !/served a stale/.test(error)) ?? []).toEqual([]);
});

const upstreamPulls = () => tap.exchanges.filter((e) => e.method === 'GET' && /\/(blobs|manifests)\//.test(e.path));

async function pull() {
  const pulled = await skopeoCopyToOci({ host: proxy.host, repository: UPSTREAM_REPO });
  cleanups.push(() => pulled.remove());
  expect(pulled.code, describeRun(pulled)).toBe(0);
  expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
}

describe('pull-through cache with distribution and skopeo', () => {
  it('a cold pull fetches the manifest and each blob once', async () => {
    await pull();
    const gets = upstreamPulls().map((e) => e.path.replace(/\?.*$/, ''));
    expect(new Set(gets).size).toBe(gets.length);
    expect(gets.filter((path) => path.includes('/blobs/'))).toHaveLength(3); // config + 2 layers
  });

  it('a warm pull by tag asks the upstream one HEAD and downloads nothing', async () => {
    tap.reset();
    await pull();
    expect(upstreamPulls()).toEqual([]);
    expect(tap.exchanges.filter((e) => e.method === 'HEAD').map((e) => e.path)).toEqual([`/v2/${UPSTREAM_REPO}/manifests/v1`]);
  });

  it('with the upstream stopped, the cached image still pulls byte for byte', async () => {
    await registry.stop();
    await tap.stop();
    await pull();
    expect(proxy.errors.some((error) => /served a stale manifests answer/.test(error))).toBe(true);
  });
});
