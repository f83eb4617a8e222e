export { createRegistryProxy, isRegistryProxy, type ClientInfo, type FetchHandler, type RegistryProxy } from './handler.ts';
export type { ReadinessReport, UpstreamReadiness } from './health/readiness.ts';
export { MemoryBucketStore } from './limits/bucket-store.ts';
export type { ExpositionFormat } from './metrics/exposition.ts';
export type { HistogramSample, MetricFamily, MetricsCollector, MetricType, Sample } from './metrics/registry.ts';
export { RegistryProxyOptionsError } from './options/error.ts';
export { S3CacheStore, type S3CacheStoreOptions } from './cache/s3-store.ts';
export type {
  AccessRule,
  ServeCacheOptions,
  CacheEvent,
  CacheOptions,
  CacheStore,
  ContentEntry,
  ContentInfo,
  ContentWriter,
  RouteCacheSettings,
  StoredContent,
  BlobByteLimit,
  BucketLimit,
  BucketSpec,
  BucketStore,
  ClientAuthOptions,
  ClientRateLimits,
  Clock,
  MetricsOptions,
  ReadinessOptions,
  UpstreamConcurrency,
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
export { GATHER_READS, GUARDED_BODY, WITH_HEAD } from './upstream/guarded-body.ts';
export { UPSTREAM_EXCHANGE, type UpstreamExchangeInit } from './upstream/fetch.ts';
