import type { ClientIdentity } from '../auth/client-auth.ts';
import type { ProxyContext, RouteContext } from '../context.ts';
import { MemoryBucketStore } from '../limits/bucket-store.ts';
import type { Endpoint, ProxyMetrics } from '../metrics/proxy-metrics.ts';
import type { BucketSpec, BucketStore, Clock, ResolvedOptions, ResolvedRateLimits } from '../options/types.ts';
import { ociError } from '../protocol/errors.ts';

/** What a runtime adapter knows about the connection (see `ClientInfo` in handler.ts). */
export interface ConnectionInfo {
  clientAddress?: string;
  remoteAddr?: { hostname?: string };
}

interface ByteBucket {
  key: string;
  spec: BucketSpec;
  pace: boolean;
}


/**
 * Per-client token buckets: requests, and blob bytes, each proxy-wide (`rateLimits`) and per
 * route (`upstreams[].rateLimits`). The client is the user the proxy authenticated, else the
 * IP address the adapter saw (or `X-Forwarded-For`'s first entry with `trustForwardedHeaders`).
 */
export class ClientLimits {
  readonly #store: BucketStore;
  /** The built-in store answers synchronously: no promise per request. */
  readonly #memory: MemoryBucketStore | undefined;
  readonly #clock: Clock;
  readonly #global: ResolvedRateLimits | undefined;
  readonly #trustForwarded: boolean;
  readonly #metrics: ProxyMetrics | undefined;

  constructor(options: ResolvedOptions, metrics: ProxyMetrics | undefined) {
    this.#store = options.rateLimitStore ?? new MemoryBucketStore();
    this.#memory = this.#store instanceof MemoryBucketStore ? this.#store : undefined;
    this.#clock = options.clock;
    this.#global = options.rateLimits;
    this.#trustForwarded = options.trustForwardedHeaders;
    this.#metrics = metrics;
  }

  /** Whether any limit is configured at all. */
  static wanted(options: ResolvedOptions): boolean {
    return options.rateLimits !== undefined || options.routes.some((route) => route.rateLimits !== undefined);
  }

  /** The client's key; a promise only when the proxy must check credentials to know the user. */
  clientKey(context: ProxyContext, request: Request, connection: ConnectionInfo | undefined): string | Promise<string> {
    if (context.clientAuth && request.headers.has('authorization')) {
      return context.clientAuth.identifyRequest(request).then((identity: ClientIdentity | undefined) => {
        if (identity?.kind === 'user') return `user:${identity.name}`;
        if (identity?.kind === 'token' && identity.subject) return `user:${identity.subject}`;
        return this.#addressKey(request, connection);
      });
    }
    return this.#addressKey(request, connection);
  }

  #addressKey(request: Request, connection: ConnectionInfo | undefined): string {
    if (this.#trustForwarded) {
      const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
      if (forwarded) return `ip:${forwarded}`;
    }
    const address = connection?.clientAddress ?? connection?.remoteAddr?.hostname;
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: one client, one key.
    return `ip:${address === undefined ? 'unknown' : address.startsWith('::ffff:') ? address.slice(7) : address}`;
  }

  /**
   * A `429 TOOMANYREQUESTS` when the client is over a request limit (or, for blob GETs, in byte
   * debt); else undefined. Synchronous with the in-memory store, which keeps the common path
   * free of promises.
   */
  admit(client: string, routeContext: RouteContext | undefined, endpoint: Endpoint, method: string): Response | undefined | Promise<Response | undefined> {
    const store = this.#memory;
    if (!store) return this.#admitAsync(client, routeContext, endpoint, method);
    const route = routeContext?.route;
    const routeName = route?.name ?? 'none';
    const now = this.#clock.now();
    for (const [scope, limits] of [['*', this.#global], [routeName, route?.rateLimits]] as const) {
      if (!limits?.requests) continue;
      const ms = store.tryTake(`requests ${scope} ${client}`, 1, limits.requests, now);
      if (ms > 0) return this.#refuse(routeName, 'requests', ms, 'too many requests from this client');
    }
    if (endpoint === 'blob' && method === 'GET') {
      for (const bucket of this.#byteBuckets(client, routeContext)) {
        if (bucket.pace) continue;
        const ms = store.debt(bucket.key, bucket.spec, now);
        if (ms > 0) return this.#refuse(routeName, 'bytes', ms, 'this client has pulled too many blob bytes');
      }
    }
    return undefined;
  }

  /** `admit` for a store that answers with promises (a shared one): every bucket awaited. */
  async #admitAsync(client: string, routeContext: RouteContext | undefined, endpoint: Endpoint, method: string): Promise<Response | undefined> {
    const route = routeContext?.route;
    const routeName = route?.name ?? 'none';
    const scopes: Array<[string, ResolvedRateLimits | undefined]> = [
      ['*', this.#global],
      [routeName, route?.rateLimits],
    ];
    for (const [scope, limits] of scopes) {
      if (!limits?.requests) continue;
      const ms = await this.#store.tryTake(`requests ${scope} ${client}`, 1, limits.requests, this.#clock.now());
      if (ms > 0) return this.#refuse(routeName, 'requests', ms, 'too many requests from this client');
    }
    if (endpoint === 'blob' && method === 'GET') {
      for (const bucket of this.#byteBuckets(client, routeContext)) {
        if (bucket.pace) continue;
        const ms = await this.#store.debt(bucket.key, bucket.spec, this.#clock.now());
        if (ms > 0) return this.#refuse(routeName, 'bytes', ms, 'this client has pulled too many blob bytes');
      }
    }
    return undefined;
  }

  /**
   * For a blob body: takes each chunk's bytes from the client's byte buckets and, in `pace`
   * mode, holds the chunk until the bucket is out of debt. Undefined when no byte limit applies.
   */
  blobPacer(client: string, routeContext: RouteContext | undefined): ((bytes: number) => Promise<void>) | undefined {
    const buckets = this.#byteBuckets(client, routeContext);
    if (buckets.length === 0) return undefined;
    let counted = false;
    return async (bytes) => {
      let longest = 0;
      for (const bucket of buckets) {
        const ms = await this.#store.take(bucket.key, bytes, bucket.spec, this.#clock.now());
        if (bucket.pace) longest = Math.max(longest, ms);
      }
      if (longest > 0) {
        if (!counted) {
          counted = true; // one paced transfer is one limited request
          this.#metrics?.rateLimited.labels(routeContext?.route.name ?? 'none', 'bytes').inc();
        }
        await this.#clock.sleep(longest);
      }
    };
  }

  #byteBuckets(client: string, routeContext: RouteContext | undefined): ByteBucket[] {
    const buckets: ByteBucket[] = [];
    const global = this.#global?.blobBytes;
    if (global) buckets.push({ key: `bytes * ${client}`, spec: global, pace: global.mode === 'pace' });
    const route = routeContext?.route;
    const local = route?.rateLimits?.blobBytes;
    if (local) buckets.push({ key: `bytes ${route.name} ${client}`, spec: local, pace: local.mode === 'pace' });
    return buckets;
  }

  #refuse(route: string, reason: 'requests' | 'bytes', ms: number, message: string): Response {
    this.#metrics?.rateLimited.labels(route, reason).inc();
    const seconds = Math.max(1, Math.ceil(ms / 1000));
    return ociError('tooManyRequests', message, null, { 'retry-after': String(seconds) }).toResponse();
  }
}
