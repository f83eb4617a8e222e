import { FsCacheStore } from '../cache/fs-store.ts';
import { S3CacheStore } from '../../lib/cache/s3-store.ts';
import type { CacheOptions, CacheStore } from '../../lib/options/types.ts';
import { ConfigError, parseSize, type CliConfig } from './config.ts';

/**
 * Builds the cache the command line asks for: `--cache DIR` is the filesystem store,
 * `--cache s3://bucket/prefix` the S3 store with the usual `AWS_*` credentials. The config
 * file's `cache` (with `store` as such a string) is merged under the flags.
 */
export function cacheFromConfig(config: CliConfig, env: Record<string, string | undefined>): CacheOptions | undefined {
  const file = config.proxy.cache as (Omit<CacheOptions, 'store' | 'maxSize'> & { store?: unknown; maxSize?: number | string }) | undefined;
  const source = config.cacheStore?.source ?? config.sources.cache ?? 'cache';
  const location = config.cacheStore?.location ?? file?.store;
  if (location === undefined && file === undefined) return undefined;
  if (typeof location !== 'string' || location === '') {
    throw new ConfigError(source, 'cache.store must be a directory or an s3://bucket/prefix URL');
  }
  const { maxSize: fileMaxSize, store: _store, ...fileSettings } = file ?? {};
  const maxSize = typeof fileMaxSize === 'string' ? parseSize(`${source}: cache.maxSize`, fileMaxSize) : fileMaxSize;
  return {
    ...fileSettings,
    ...(maxSize !== undefined ? { maxSize } : {}),
    ...config.cacheSettings,
    store: createStore(location, config.cacheStore?.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL, env, source),
  };
}

function createStore(location: string, endpoint: string | undefined, env: Record<string, string | undefined>, source: string): CacheStore {
  if (!location.startsWith('s3://')) return new FsCacheStore(location);
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!match) throw new ConfigError(source, `must look like s3://bucket/prefix, got ${JSON.stringify(location)}`);
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) throw new ConfigError(source, 'needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for an s3:// cache');
  try {
    return new S3CacheStore({
      bucket: match[1]!,
      prefix: match[2],
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
      endpoint,
      accessKeyId,
      secretAccessKey,
      sessionToken: env.AWS_SESSION_TOKEN,
    });
  } catch (error) {
    throw new ConfigError(source, (error as Error).message.replace(/^registry-proxy: /, ''));
  }
}
