import type { CacheOptions, ServeCacheOptions } from '../../lib/options/types.ts';
import { FsCacheStore } from './fs-store.ts';

/** Turns a directory path into the filesystem store; a store is used as it is. */
export function cacheOptionsFor(cache: ServeCacheOptions | undefined): CacheOptions | undefined {
  if (cache === undefined || typeof cache.store !== 'string') return cache as CacheOptions | undefined;
  return { ...cache, store: new FsCacheStore(cache.store) };
}
