import { RegistryProxyOptionsError } from './error.ts';
import type { CacheOptions, ResolvedCache, RouteCacheSettings } from './types.ts';

const DEFAULT_MAX_SIZE = 10 * 1024 ** 3;
const DEFAULTS: Required<RouteCacheSettings> = { tagFreshness: 0, staleIfError: 7 * 24 * 3600, listFreshness: 60 };
const STORE_METHODS = ['get', 'stat', 'put', 'delete', 'list', 'touch', 'link', 'unlink', 'isLinked', 'getRecord', 'putRecord', 'deleteRecord'] as const;

function seconds(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RegistryProxyOptionsError(option, `must be a number of seconds >= 0, got ${String(value)}`);
  }
  return value;
}

/** The proxy-wide cache: its store checked for the methods the cache calls, sizes and hooks validated. */
export function resolveCache(cache: CacheOptions | undefined): ResolvedCache | undefined {
  if (cache === undefined) return undefined;
  if (typeof cache !== 'object' || cache === null) throw new RegistryProxyOptionsError('cache', 'must be an object with a "store"');
  const store = cache.store as unknown as Record<string, unknown> | undefined;
  if (typeof store !== 'object' || store === null) {
    throw new RegistryProxyOptionsError('cache.store', 'is required: a CacheStore (a directory store, an S3 store, …)');
  }
  const missing = STORE_METHODS.filter((method) => typeof store[method] !== 'function');
  if (missing.length > 0) throw new RegistryProxyOptionsError('cache.store', `is not a CacheStore: it lacks ${missing.join(', ')}`);
  const maxSize = cache.maxSize ?? DEFAULT_MAX_SIZE;
  if (typeof maxSize !== 'number' || !Number.isSafeInteger(maxSize) || maxSize <= 0) {
    throw new RegistryProxyOptionsError('cache.maxSize', `must be a whole number of bytes > 0, got ${String(maxSize)}`);
  }
  const redirect = cache.redirect ?? false;
  if (typeof redirect !== 'boolean') throw new RegistryProxyOptionsError('cache.redirect', 'must be true or false');
  if (redirect && typeof store.presign !== 'function') {
    throw new RegistryProxyOptionsError('cache.redirect', 'needs a store that can presign URLs (an S3 store)');
  }
  if (cache.onEvent !== undefined && typeof cache.onEvent !== 'function') throw new RegistryProxyOptionsError('cache.onEvent', 'must be a function');
  return { store: cache.store, maxSize, redirect, onEvent: cache.onEvent ?? (() => {}) };
}

/**
 * One route's freshness settings: the route's own over the proxy-wide ones over the defaults.
 * `undefined`: the route is not cached (no proxy-wide cache, or the route says `cache: false`).
 */
export function resolveRouteCache(
  proxyWide: CacheOptions | undefined,
  route: RouteCacheSettings | false | undefined,
  at: string,
): Required<RouteCacheSettings> | undefined {
  if (proxyWide === undefined || route === false) return undefined;
  if (route !== undefined && (typeof route !== 'object' || route === null)) {
    throw new RegistryProxyOptionsError(at, 'must be false or an object of cache settings');
  }
  const resolved = {} as Required<RouteCacheSettings>;
  for (const key of Object.keys(DEFAULTS) as (keyof RouteCacheSettings)[]) {
    const own = route?.[key];
    resolved[key] = own !== undefined ? seconds(`${at}.${key}`, own, 0) : seconds(`cache.${key}`, proxyWide[key], DEFAULTS[key]);
  }
  return resolved;
}
