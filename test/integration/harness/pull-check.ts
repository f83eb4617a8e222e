/**
 * The pull the proxy tests make through a proxy: skopeo inspect and copy both succeed, the
 * manifest digest is the pushed image's and every blob arrives byte for byte.
 */
import { expect } from 'vitest';
import type { TestImage } from './images.ts';
import type { Cleanups } from './lifecycle.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci, skopeoInspect, type RemoteRef, type SkopeoOptions } from './skopeo.ts';

/** Inspects and copies `ref` with skopeo, asserting it is `image`; returns both runs for further checks (e.g. leaks). */
export async function expectPullOf(image: TestImage, ref: RemoteRef, cleanups: Cleanups, options: SkopeoOptions & { creds?: string } = {}) {
  const inspected = await skopeoInspect(ref, options);
  expect(inspected.code, describeRun(inspected)).toBe(0);
  expect(inspected.json?.Digest).toBe(image.manifestDigest);
  const pulled = await skopeoCopyToOci(ref, options);
  cleanups.push(() => pulled.remove());
  expect(pulled.code, describeRun(pulled)).toBe(0);
  expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
  return { inspected, pulled };
}
