/**
 * Cache options: validated at creation with the option named; per-route overrides; the CLI's
 * --cache flags and REGISTRY_PROXY_CACHE* variables; a config file's cache section.
 */
import { describe, expect, it } from 'vitest';
import { FsCacheStore } from '../../../adapters/cache/fs-store.ts';
import { cacheFromConfig } from '../../../adapters/cli/cache.ts';
import { applyConfigFile, ConfigError, parseConfig, parseSize } from '../../../adapters/cli/config.ts';
import { prepareServe } from '../../../adapters/serve-options.ts';
import { S3CacheStore } from '../../../lib/cache/s3-store.ts';
import { RegistryProxyOptionsError } from '../../../lib/index.ts';
import { resolveOptions } from '../../../lib/options/resolve.ts';

const store = new FsCacheStore('/tmp/registry-proxy-options-test');

describe('cache options', () => {
  it('defaults: 10 GiB, tags revalidated on every pull, stale for 7 days, lists for 60 s', () => {
    const resolved = resolveOptions({ cache: { store } });
    expect(resolved.cache).toMatchObject({ maxSize: 10 * 1024 ** 3, redirect: false });
    expect(resolved.routes[0]!.cache).toEqual({ tagFreshness: 0, staleIfError: 604_800, listFreshness: 60 });
    expect(resolveOptions({}).cache).toBeUndefined();
    expect(resolveOptions({}).routes[0]!.cache).toBeUndefined();
  });

  it.each([
    [{ store: undefined }, 'cache.store'],
    [{ store: { get() {} } }, 'cache.store'],
    [{ store, maxSize: 0 }, 'cache.maxSize'],
    [{ store, maxSize: '50GiB' }, 'cache.maxSize'],
    [{ store, tagFreshness: -1 }, 'cache.tagFreshness'],
    [{ store, staleIfError: Number.NaN }, 'cache.staleIfError'],
    [{ store, redirect: 'yes' }, 'cache.redirect'],
    [{ store, redirect: true }, 'cache.redirect'],
    [{ store, onEvent: 'log' }, 'cache.onEvent'],
  ])('refuses %j, naming %s', (cache, option) => {
    let thrown: unknown;
    try {
      resolveOptions({ cache: cache as never });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RegistryProxyOptionsError);
    expect((thrown as RegistryProxyOptionsError).option).toBe(option);
  });

  it('routes override the proxy-wide settings, or opt out with cache: false', () => {
    const resolved = resolveOptions({
      cache: { store, tagFreshness: 30 },
      upstreams: [
        { upstream: 'ghcr.io', pathPrefix: 'ghcr.io', cache: { tagFreshness: 600, staleIfError: 0 } },
        { upstream: 'quay.io', pathPrefix: 'quay.io', cache: false },
        { upstream: 'docker.io' },
      ],
    });
    expect(resolved.routes.map((route) => route.cache)).toEqual([
      { tagFreshness: 600, staleIfError: 0, listFreshness: 60 },
      undefined,
      { tagFreshness: 30, staleIfError: 604_800, listFreshness: 60 },
    ]);
    expect(() => resolveOptions({ cache: { store }, upstreams: [{ upstream: 'ghcr.io', cache: { tagFreshness: -5 } }] })).toThrow(
      /upstreams\[0\]\.cache\.tagFreshness/,
    );
  });

  it('serve({ cache: { store: DIR } }) builds the filesystem store', () => {
    expect(() => prepareServe({ cache: { store: '/tmp/registry-proxy-serve-test' } })).not.toThrow();
  });
});

describe('cache on the command line', () => {
  it('--cache DIR is the filesystem store, with sizes like 50GiB', () => {
    const config = parseConfig(['--cache', '/var/cache/rp', '--cache-max-size', '50GiB', '--cache-tag-freshness', '30'], {});
    const cache = cacheFromConfig(config, {})!;
    expect(cache.store).toBeInstanceOf(FsCacheStore);
    expect((cache.store as FsCacheStore).root).toBe('/var/cache/rp');
    expect(cache).toMatchObject({ maxSize: 50 * 1024 ** 3, tagFreshness: 30 });
  });

  it('REGISTRY_PROXY_CACHE=s3://bucket/prefix is the S3 store, with AWS_* credentials and an endpoint', () => {
    const env = {
      REGISTRY_PROXY_CACHE: 's3://images/proxy',
      REGISTRY_PROXY_CACHE_MAX_SIZE: '500MB',
      REGISTRY_PROXY_CACHE_ENDPOINT: 'http://minio:9000',
      AWS_ACCESS_KEY_ID: 'key',
      AWS_SECRET_ACCESS_KEY: 'secret',
    };
    const cache = cacheFromConfig(parseConfig([], env), env)!;
    expect(cache.store).toBeInstanceOf(S3CacheStore);
    expect(cache.maxSize).toBe(500_000_000);
  });

  it('an s3:// cache without credentials, or a bad size, fails naming where it came from', () => {
    expect(() => cacheFromConfig(parseConfig(['--cache', 's3://images'], {}), {})).toThrow(/--cache needs AWS_ACCESS_KEY_ID/);
    expect(() => parseConfig(['--cache-max-size', 'lots'], {})).toThrow(ConfigError);
    expect(() => parseConfig([], { REGISTRY_PROXY_CACHE_MAX_SIZE: '-1GiB' })).toThrow(/REGISTRY_PROXY_CACHE_MAX_SIZE/);
  });

  it('parses sizes in SI and binary units', () => {
    expect(parseSize('x', '1024')).toBe(1024);
    expect(parseSize('x', '2KiB')).toBe(2048);
    expect(parseSize('x', '1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('x', '3G')).toBe(3e9);
  });

  it('a config file may hold the cache, with per-route overrides; flags win', () => {
    const config = parseConfig(['--config', 'file.json', '--cache-max-size', '1GiB'], {});
    applyConfigFile(
      config,
      JSON.stringify({ cache: { store: '/srv/cache', maxSize: '20GiB', staleIfError: 3600 }, upstreams: [{ upstream: 'ghcr.io', cache: { tagFreshness: 60 } }] }),
      {},
    );
    const cache = cacheFromConfig(config, {})!;
    expect((cache.store as FsCacheStore).root).toBe('/srv/cache');
    expect(cache).toMatchObject({ maxSize: 1024 ** 3, staleIfError: 3600 });
    config.proxy.cache = cache;
    expect(resolveOptions(config.proxy).routes[0]!.cache).toEqual({ tagFreshness: 60, staleIfError: 3600, listFreshness: 60 });
  });

  it('no --cache and no cache section: no cache', () => {
    expect(cacheFromConfig(parseConfig([], {}), {})).toBeUndefined();
  });
});
