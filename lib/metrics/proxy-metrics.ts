import type { Counter, Gauge, Histogram, MetricsRegistry } from './registry.ts';

/** Latency buckets in seconds: registry answers take milliseconds (cached) to seconds (cold upstream). */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What a request is for, as the `endpoint` label says: a fixed, small set. */
export type Endpoint = 'ping' | 'manifest' | 'blob' | 'tags' | 'referrers' | 'token' | 'upload' | 'other';

/** Why a request was limited (`registry_proxy_rate_limited_total{reason}`). */
export type LimitReason = 'requests' | 'bytes' | 'concurrency' | 'upstream';

/** The token fetch outcomes (`registry_proxy_upstream_token_fetches_total{result}`). */
export type TokenFetchResult = 'ok' | 'denied' | 'rate_limited' | 'error';

/**
 * The proxy's metric families. Label values are bounded: `route` is a configured route name,
 * `endpoint` one of `Endpoint`, `method` one of the HTTP methods registries use, `code` an HTTP
 * status. Repository names appear only with `metrics.repositoryLabels`; credentials never.
 * The `registry_proxy_cache_*` names are left to the cache, which reports them through
 * `registerCollector`.
 */
export class ProxyMetrics {
  readonly registry: MetricsRegistry;
  readonly repositoryLabels: boolean;
  readonly requests: Counter;
  readonly requestDuration: Histogram;
  readonly upstreamRequests: Counter;
  readonly upstreamDuration: Histogram;
  readonly bytesSent: Counter;
  readonly tokenFetches: Counter;
  readonly inflight: Gauge;
  readonly rateLimited: Counter;

  constructor(registry: MetricsRegistry, repositoryLabels: boolean) {
    this.registry = registry;
    this.repositoryLabels = repositoryLabels;
    const repository = repositoryLabels ? ['repository'] : [];
    this.requests = registry.counter(
      'registry_proxy_requests_total',
      'Requests answered, by route, endpoint, method and status code.',
      ['route', 'endpoint', 'method', 'code', ...repository],
    );
    this.requestDuration = registry.histogram(
      'registry_proxy_request_duration_seconds',
      'Time until the response headers were ready (blob bodies stream on afterwards).',
      ['route', 'endpoint'],
      DURATION_BUCKETS,
      'seconds',
    );
    this.upstreamRequests = registry.counter('registry_proxy_upstream_requests_total', 'Requests sent upstream, by route and status code (or error / timeout).', ['route', 'code']);
    this.upstreamDuration = registry.histogram(
      'registry_proxy_upstream_duration_seconds',
      'Time until the upstream answered with response headers.',
      ['route'],
      DURATION_BUCKETS,
      'seconds',
    );
    this.bytesSent = registry.counter('registry_proxy_bytes_sent_total', 'Response body bytes sent to clients, counted as they stream.', [
      'route',
      'endpoint',
      ...repository,
    ]);
    this.tokenFetches = registry.counter('registry_proxy_upstream_token_fetches_total', 'Tokens the proxy fetched from upstream token servers, by result.', [
      'route',
      'result',
    ]);
    this.inflight = registry.gauge('registry_proxy_inflight_requests', 'Requests being handled, bodies still streaming included.');
    this.inflight.labels().set(0);
    this.rateLimited = registry.counter(
      'registry_proxy_rate_limited_total',
      'Requests refused or held back by a limit: requests, bytes, concurrency (the proxy’s own) or upstream (an upstream 429).',
      ['route', 'reason'],
    );
  }
}

/** Methods outside the registry API are folded into one label value, so a client cannot add series. */
export function methodLabel(method: string): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'POST':
    case 'PUT':
    case 'PATCH':
    case 'DELETE':
      return method;
    default:
      return 'OTHER';
  }
}
