export { createRegistryProxy, type FetchHandler } from './handler.ts';
export { RegistryProxyOptionsError } from './options/error.ts';
export { S3CacheStore, type S3CacheStoreOptions } from './cache/s3-store.ts';
export type {
  AccessRule,
  CacheEvent,
  CacheOptions,
  CacheStore,
  ContentEntry,
  ContentInfo,
  ContentWriter,
  RouteCacheSettings,
  StoredContent,
  ClientAuthOptions,
  ProxyUser,
  RedirectPolicy,
  RegistryProxyOptions,
  RegistryProxyTimeouts,
  ServeOptions,
  ServerAddress,
  UpstreamCredentials,
  UpstreamCredentialsProvider,
  UpstreamRoute,
  UpstreamSettings,
} from './options/types.ts';
export { OciError, ociErrorResponse, type OciErrorCode } from './protocol/errors.ts';
export { withRequestLog, type RequestLogEntry } from './request-log.ts';
export { GUARDED_BODY } from './upstream/guarded-body.ts';
