import type { CacheOptions, CacheStore } from '../../lib/options/types.ts';
import { FsCacheStore } from './fs-store.ts';

/** What `serve({ cache })` takes on Node, Deno and Bun: a store, or a directory path for the filesystem store. */
export interface ServeCacheOptions extends Omit<CacheOptions, 'store'> {
  /** A `CacheStore`, or a directory for the filesystem store (created when missing). */
  store: CacheStore | string;
}

/** Turns a directory path into the filesystem store; a store is used as it is. */
export function cacheOptionsFor(cache: ServeCacheOptions | undefined): CacheOptions | undefined {
  if (cache === undefined || typeof cache.store !== 'string') return cache as CacheOptions | undefined;
  return { ...cache, store: new FsCacheStore(cache.store) };
}
