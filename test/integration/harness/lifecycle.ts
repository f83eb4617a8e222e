/**
 * The lifecycle the proxy test files share: one cleanup list per file, run in reverse after its
 * tests; a real registry holding one pushed image; and proxies started for a describe, which
 * must have reported no errors when it ends.
 */
import { afterAll, expect } from 'vitest';
import { makeImage, pushImage, type MakeImageOptions, type TestImage } from './images.ts';
import { startProxy, type TestProxy, type TestProxyOptions } from './proxy.ts';
import { startRecorder, type Recorder } from './recorder.ts';
import { startRegistry, type Registry, type RegistryOptions } from './registry.ts';
import { startTokenIssuer, type TokenIssuer, type TokenIssuerOptions } from './token-issuer.ts';

export type Cleanups = Array<() => Promise<void>>;

/** A cleanup list for this file, run last-in first-out after all its tests (failures ignored). */
export function useCleanups(): Cleanups {
  const cleanups: Cleanups = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });
  return cleanups;
}

export interface RegistryWithImageOptions {
  registry: RegistryOptions;
  image: MakeImageOptions;
  /** Where the image is pushed. */
  repository: string;
  /** `user:password` to push with. @default the registry's own htpasswd creds, if any */
  creds?: string;
}

/** Starts a distribution registry, makes an image and pushes it there; both go away with `cleanups`. */
export async function startRegistryWithImage(
  cleanups: Cleanups,
  options: RegistryWithImageOptions,
): Promise<{ registry: Registry; image: TestImage }> {
  const registry = await startRegistry(options.registry);
  cleanups.push(() => registry.stop());
  const image = await makeImage(options.image);
  cleanups.push(() => image.remove());
  const creds = options.creds ?? registry.creds;
  await pushImage(image, registry, options.repository, creds ? { creds } : {});
  return { registry, image };
}

export interface TokenRegistryWithImageOptions {
  /** What the issuer gives callers without valid credentials. */
  anonymous: TokenIssuerOptions['anonymous'];
  /** The issuer's one account, which also pushes the image. */
  username: string;
  password: string;
  image: MakeImageOptions;
  repository: string;
}

/** Starts a token issuer with one account and a token-auth registry, and pushes an image as that account. */
export async function startTokenRegistryWithImage(
  cleanups: Cleanups,
  options: TokenRegistryWithImageOptions,
): Promise<{ issuer: TokenIssuer; registry: Registry; image: TestImage }> {
  const { anonymous, username, password } = options;
  const issuer = await startTokenIssuer({ anonymous, users: { [username]: password } });
  cleanups.push(() => issuer.stop());
  const { registry, image } = await startRegistryWithImage(cleanups, {
    registry: { auth: 'token', issuer },
    image: options.image,
    repository: options.repository,
    creds: `${username}:${password}`,
  });
  return { issuer, registry, image };
}

/** Starts a proxy that goes away with `cleanups`. */
export async function startCleanedUpProxy(cleanups: Cleanups, options: TestProxyOptions): Promise<TestProxy> {
  const proxy = await startProxy(options);
  cleanups.push(() => proxy.stop());
  return proxy;
}

/** Starts a proxy and a recorder in front of it (clients talk to `recorder.host`); both go away with `cleanups`. */
export async function startRecordedProxy(
  cleanups: Cleanups,
  options: TestProxyOptions,
): Promise<{ proxy: TestProxy; recorder: Recorder }> {
  const proxy = await startCleanedUpProxy(cleanups, options);
  const recorder = await startRecorder(proxy.url);
  cleanups.push(() => recorder.stop());
  return { proxy, recorder };
}

/** A describe's closing check. `proxy` is unset when starting it threw in beforeAll. */
export function expectNoProxyErrors(proxy: TestProxy | undefined): void {
  expect(proxy?.errors ?? []).toEqual([]);
}
