/**
 * Plumbing for the cache tests: a proxy with a filesystem cache in a fresh temp directory in
 * front of an msw distribution registry, and an image pull as a client makes it.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, expect } from 'vitest';
import { FsCacheStore } from '../../../adapters/cache/fs-store.ts';
import { createRegistryProxy, type RegistryProxyOptions } from '../../../lib/index.ts';
import type { CacheEvent, CacheOptions } from '../../../lib/options/types.ts';
import { distribution, MediaType, type BuiltImage, type DistributionOptions } from '../../upstreams/index.ts';
import { bytesOf, CONTAINERD_ACCEPT, digestOf, req } from './single-upstream.ts';
import type { setupServer } from 'msw/node';

const directories: string[] = [];
afterAll(async () => {
  await Promise.all(directories.map((dir) => rm(dir, { recursive: true, force: true })));
});

export async function tempDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-proxy-cache-'));
  directories.push(dir);
  return dir;
}

/** A real S3 server (s3rver) with a `cache` bucket for this test file; `endpoint` is set once it runs. */
export function useS3rver(): { endpoint: string } {
  const s3 = { endpoint: '' };
  let instance: S3rver | undefined;
  beforeAll(async () => {
    instance = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: await tempDirectory(), configureBuckets: [{ name: 'cache', configs: [] }] });
    const { port } = await instance.run();
    s3.endpoint = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await instance?.close();
  });
  return s3;
}

export interface CachedSetup {
  registry: ReturnType<typeof distribution>;
  proxy: (request: Request) => Promise<Response>;
  store: FsCacheStore;
  dir: string;
  events: CacheEvent[];
  errors: unknown[];
}

export async function cachedProxy(
  server: ReturnType<typeof setupServer>,
  options: { cache?: Partial<CacheOptions>; proxy?: RegistryProxyOptions; upstream?: DistributionOptions } = {},
): Promise<CachedSetup> {
  const dir = await tempDirectory();
  const store = new FsCacheStore(dir);
  const events: CacheEvent[] = [];
  const errors: unknown[] = [];
  const registry = distribution({ auth: 'anonymous', ...options.upstream });
  server.use(...registry.handlers);
  const proxy = createRegistryProxy({
    upstream: registry.origin,
    onError: (error) => errors.push(error),
    ...options.proxy,
    cache: { store, onEvent: (event) => events.push(event), ...options.cache },
  });
  return { registry, proxy, store, dir, events, errors };
}

/** Pulls an image by tag as containerd does: the manifest, then its config and layers. Checks every byte. */
export async function pullImage(
  proxy: (request: Request) => Promise<Response>,
  name: string,
  tag: string,
  image: BuiltImage,
  headers: Record<string, string> = {},
): Promise<void> {
  const manifest = await proxy(req(`GET /v2/${name}/manifests/${tag}`, { headers: { accept: CONTAINERD_ACCEPT, ...headers } }));
  expect(manifest.status).toBe(200);
  expect(manifest.headers.get('content-type')).toBe(image.manifest.mediaType);
  expect(manifest.headers.get('docker-content-digest')).toBe(image.manifest.digest);
  expect(await bytesOf(manifest)).toEqual(image.manifest.bytes);
  for (const blob of [image.config, ...image.layers]) {
    const response = await proxy(req(`GET /v2/${name}/blobs/${blob.digest}`, { headers }));
    expect(response.status).toBe(200);
    expect(response.headers.get('docker-content-digest')).toBe(blob.digest);
    // Compared by digest: toEqual on megabytes of Uint8Array takes seconds.
    expect(digestOf(await bytesOf(response))).toBe(blob.digest);
  }
}

/** Upstream requests by method and the kind of path. */
export function upstreamCount(registry: CachedSetup['registry'], method: string, part: 'manifests' | 'blobs' | 'tags' | 'referrers', digest?: string): number {
  return registry.requests.filter((r) => r.method === method && r.path.includes(`/${part}/`) && (!digest || r.path.endsWith(digest))).length;
}

/** Files under the store's content directory: what is published. */
export async function storedDigests(dir: string): Promise<string[]> {
  const base = join(dir, 'blobs', 'sha256');
  const found: string[] = [];
  for (const prefix of await readdir(base).catch(() => [] as string[])) {
    for (const name of await readdir(join(base, prefix))) if (/^[a-f0-9]{64}$/.test(name)) found.push(`sha256:${name}`);
  }
  return found.sort();
}

export async function storedBytes(dir: string): Promise<number> {
  let total = 0;
  for (const digest of await storedDigests(dir)) {
    const hex = digest.slice(7);
    total += (await stat(join(dir, 'blobs', 'sha256', hex.slice(0, 2), hex))).size;
  }
  return total;
}

/** Lets background fills finish (they run after the response that started them). */
export async function settle(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export { MediaType };
