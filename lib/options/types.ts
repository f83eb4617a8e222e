/**
 * Every option type of registry-proxy: what callers pass (`RegistryProxyOptions` and its parts)
 * and what `resolveOptions` makes of them (`Resolved*`). Imports nothing, so every layer may
 * import it.
 */

/** A fetch handler: what the serve functions of Deno and Bun, Workers and Hono all take. */
export type FetchHandler = (request: Request, client?: ClientInfo) => Promise<Response>;

/**
 * What the server knows about the client's connection. The runtime adapters pass it;
 * Deno's serve handler info, passed when the proxy is served directly, has the same `remoteAddr`.
 */
export interface ClientInfo {
  /** The client's IP address as the socket saw it. */
  clientAddress?: string;
  /** Deno's `ServeHandlerInfo.remoteAddr`. */
  remoteAddr?: { hostname?: string };
}

/** Upstream credentials held by the proxy, never shown to clients. */
export type UpstreamCredentials =
  | { username: string; password: string }
  /** A literal `Authorization` value, e.g. `Basic dXNlcjpwYXNz` or `Bearer abc` (the Go proxy's `AUTH_HEADER`). */
  | { authorization: string };

/** Returns credentials on demand, e.g. a short-lived access token from a metadata server. Called whenever the proxy needs a new upstream token. */
export type UpstreamCredentialsProvider = () => Promise<UpstreamCredentials> | UpstreamCredentials;

/** What the proxy does with a redirect from the upstream (blob downloads go to CDNs / signed URLs). */
export type RedirectPolicy = 'pass' | 'follow';


export interface RegistryProxyTimeouts {
  /**
   * Milliseconds to wait for the upstream's response headers before answering 504.
   * @default 30000
   */
  headers?: number;
  /**
   * Milliseconds a response body may stall (no bytes) before the transfer is aborted, so a
   * stuck upstream never hangs a client. `0` turns the check off.
   * @default 60000
   */
  idle?: number;
}

/** How one upstream registry is reached and what of it is exposed. */
export interface UpstreamSettings {
  /**
   * The registry to front: a URL (`https://ghcr.io`, `http://127.0.0.1:5000`) or a bare host /
   * well-known name (`docker.io`, `gcr.io`, `us-docker.pkg.dev`), which means `https://`.
   * `docker.io`, `index.docker.io` and `registry.hub.docker.com` all mean Docker Hub's
   * `registry-1.docker.io`.
   * @default 'docker.io'
   */
  upstream?: string;
  /**
   * Repository prefix inserted after `/v2/` upstream: with `my-project/my-repo`, a client's
   * `app` is the upstream's `my-project/my-repo/app`. Mapped back wherever names appear
   * (challenges, `Link`, `Location`, error details).
   * @example 'my-project/my-repo'
   * @default ''
   */
  repositoryPrefix?: string;
  /**
   * Give single-segment names Docker Hub's `library/` (`alpine` → `library/alpine`), in paths
   * and token scopes, as the Docker client does implicitly.
   * @default true for Docker Hub without a repositoryPrefix, else false
   */
  officialImages?: boolean;
  /**
   * Credentials the proxy uses upstream (`{ username, password }`, `{ authorization }`, or a
   * function returning one), so private images can be served publicly. When set,
   * the proxy does the token dance itself; clients are never challenged by the upstream, and
   * their own `Authorization` is not forwarded.
   */
  credentials?: UpstreamCredentials | UpstreamCredentialsProvider;
  /**
   * `pass` returns upstream redirects to the client (relative `Location`s made absolute against
   * the upstream); `follow` fetches the target itself and streams it, dropping `Authorization`
   * on a cross-origin hop.
   * @default 'pass'
   */
  redirects?: RedirectPolicy;
  /**
   * Refuse writes (`POST`/`PUT`/`PATCH`/`DELETE`) with `405 UNSUPPORTED`. When `false`, writes
   * are passed through with names mapped. With proxy-held credentials or the proxy's own client
   * authentication, only users granted `push` may write.
   * @default true
   */
  readOnly?: boolean;
  /**
   * Repositories (and tags) clients may reach. When given, anything not matched is refused with
   * `403 DENIED`. Globs: `*` within one path segment, `**` across segments. Names are matched as
   * the upstream route sees them (with `library/` for official images, without the prefix).
   * @example [{ repository: 'myorg/**' }]
   */
  allow?: AccessRule[];
  /**
   * Repositories (and tags) refused with `403 DENIED`, even when allowed.
   * @example [{ repository: '**', tags: ['latest'] }]
   */
  deny?: AccessRule[];
  /**
   * Whether clients without credentials may pull, when the proxy authenticates clients itself
   * (`auth`). Ignored otherwise.
   * @default true
   */
  anonymousPull?: boolean;
}

/** One entry of the routing table: an upstream and the requests that go to it. */
export interface UpstreamRoute extends UpstreamSettings {
  /** The registry this route fronts, as `upstream` above; required in a route. */
  upstream: string;
  /** A short name for logs and token realms. @default derived from the upstream host */
  name?: string;
  /** Request hosts (`Host` header, port ignored) served by this upstream, e.g. `['ghcr.example.com']`. */
  hosts?: string[];
  /** A leading repository path that selects this upstream and is removed: `ghcr.io` serves `/v2/ghcr.io/owner/app/…`. */
  pathPrefix?: string;
  /** containerd mirror namespaces (`?ns=docker.io`) served by this upstream; answered with `OCI-Namespace`. */
  namespaces?: string[];
  /**
   * Per-route cache settings over the proxy-wide `cache` ones; `false` passes this route
   * through uncached. Ignored without a proxy-wide `cache`.
   */
  cache?: RouteCacheSettings | false;
  /** Per-client limits on this route, on top of the proxy-wide `rateLimits`. */
  rateLimits?: ClientRateLimits;
  /** Cap on requests in flight to this upstream. @default the proxy-wide `concurrency` */
  concurrency?: UpstreamConcurrency;
}

export interface RegistryProxyOptions extends UpstreamSettings {
  /**
   * Several upstreams in one proxy, each chosen by request host, path prefix and/or `ns`. The
   * first matching route wins; a route with no criteria is the default and must come last.
   * Mutually exclusive with the single-upstream options (`upstream`, `repositoryPrefix`, …),
   * except `redirects` and `readOnly`, which then act as defaults.
   */
  upstreams?: UpstreamRoute[];
  /** The proxy authenticates clients itself (users, its own tokens) instead of the upstream. */
  auth?: ClientAuthOptions;
  /**
   * Where `GET /` (a browser visiting the domain) is sent with a 307. `false` answers 404.
   * @default false
   */
  browserRedirect?: string | false;
  /**
   * Path of the proxy's own token endpoint, which challenges point clients at.
   * @default '/_token'
   */
  tokenPath?: string;
  /**
   * The proxy's public URL, used in rewritten realms. When absent it is taken from the request.
   * @example 'https://images.example.com'
   */
  publicUrl?: string;
  /**
   * Take the public scheme and host from `X-Forwarded-Proto` / `X-Forwarded-Host` when no
   * `publicUrl` is set. Only enable behind a proxy that sets them.
   * @default false
   */
  trustForwardedHeaders?: boolean;
  /** Upstream timeouts. */
  timeouts?: RegistryProxyTimeouts;
  /**
   * The `fetch` used for every upstream request.
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /** Called with unexpected errors (upstream unreachable, stream failures). Never receives credentials. */
  onError?: (error: unknown, request: Request) => void;
  /**
   * Called at creation with each option that is valid but surely not what was meant (an access
   * rule that can never match).
   * @default console.warn
   */
  onWarning?: (message: string) => void;
  /**
   * A pull-through cache: blobs and manifests by digest, verified before they are stored; tags
   * revalidated upstream with a HEAD; tag lists and referrers kept briefly. Off without it.
   */
  cache?: CacheOptions;
  /**
   * Prometheus metrics, read with `proxy.metrics()` or served by an adapter's `metricsPort`.
   * Counting bytes wraps response bodies, so they are off unless asked for.
   * @default false (true when an adapter is given `metricsPort`)
   */
  metrics?: boolean | MetricsOptions;
  /**
   * Serve `/healthz` and `/readyz` on the main port too, under this path: `'/-'` serves
   * `/-/healthz` and `/-/readyz`, `'/'` serves `/healthz` and `/readyz`. They are always on the
   * metrics listener.
   * @default false
   */
  healthPath?: string | false;
  /** What `/readyz` asks of the upstreams. */
  readiness?: ReadinessOptions;
  /**
   * Per-client limits across the whole proxy. The client is the user the proxy authenticated
   * (`auth`), else the client's IP address (from `X-Forwarded-For` only with
   * `trustForwardedHeaders`). Kept in memory per instance unless `rateLimitStore` is given.
   */
  rateLimits?: ClientRateLimits;
  /** Where rate-limit buckets live. @default in memory, per instance */
  rateLimitStore?: BucketStore;
  /** Cap on requests in flight to each upstream (a route may set its own). @default no cap */
  concurrency?: UpstreamConcurrency;
  /**
   * Propagate W3C `traceparent` / `tracestate` upstream (starting a trace when none came in)
   * and honour or generate `X-Request-Id`, echoed on every response.
   * @default true
   */
  tracing?: boolean;
  /** The time source of rate limits, pacing, queueing and readiness. For tests. @default performance.now and setTimeout */
  clock?: Clock;
}

export interface MetricsOptions {
  /**
   * Add a `repository` label (the client's name) to request and byte counters. Only for a
   * known, small set of repositories: beyond `maxRepositories` names, the rest count as `other`.
   * @default false
   */
  repositoryLabels?: boolean;
  /** @default 200 */
  maxRepositories?: number;
}

export interface ReadinessOptions {
  /** `/readyz` is ready when every upstream answered within this many milliseconds; otherwise it asks `/v2/` now. @default 30000 */
  maxAge?: number;
  /** Milliseconds the check waits for each upstream's `/v2/`. @default 2000 */
  timeout?: number;
}

/** A token bucket: `perSecond` tokens a second, up to `burst` saved up. */
export interface BucketLimit {
  perSecond: number;
  /** @default perSecond (one second's worth) */
  burst?: number;
}

export interface BlobByteLimit extends BucketLimit {
  /**
   * `pace` slows the blob stream to the rate; `reject` answers 429 to new blob requests while
   * the client is over its bytes (a transfer under way is not cut).
   * @default 'pace'
   */
  mode?: 'pace' | 'reject';
}

export interface ClientRateLimits {
  /** Requests per second per client; over it, `429 TOOMANYREQUESTS` with `Retry-After`. */
  requests?: BucketLimit;
  /** Blob body bytes per second per client. */
  blobBytes?: BlobByteLimit;
}

export interface UpstreamConcurrency {
  /** Upstream requests in flight at once (until their response headers). */
  limit: number;
  /** Milliseconds a request over the cap waits for a slot before `503` with `Retry-After`. @default 10000 */
  queueTimeout?: number;
}

/** A controllable time source. */
export interface Clock {
  /** Milliseconds from an arbitrary origin, never going backwards. */
  now(): number;
  /** Resolves after `ms` milliseconds, or as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A bucket's shape: it holds up to `burst` tokens and gains `perSecond` of them each second. */
export interface BucketSpec {
  perSecond: number;
  burst: number;
}

/**
 * Token buckets by key. The built-in store is in memory, per process; a shared one (Redis, a
 * Durable Object) implements the same three calls and may return promises.
 */
export interface BucketStore {
  /** Takes `cost` tokens if the bucket holds them and returns 0; otherwise takes none and returns the ms until it will hold them. */
  tryTake(key: string, cost: number, spec: BucketSpec, now: number): number | Promise<number>;
  /** Takes `cost` tokens even into debt (bytes already sent); returns the ms until it is out of debt (0 when not in debt). */
  take(key: string, cost: number, spec: BucketSpec, now: number): number | Promise<number>;
  /** The ms until the bucket is out of debt, taking nothing. */
  debt(key: string, spec: BucketSpec, now: number): number | Promise<number>;
}

/** How fresh cached answers are kept; proxy-wide in `cache`, or per route. */
export interface RouteCacheSettings {
  /**
   * Seconds a tag → digest answer is used without asking upstream. `0`: every pull by tag sends
   * one HEAD upstream (which Docker Hub does not count as a pull); the same digest means no GET.
   * @default 0
   */
  tagFreshness?: number;
  /**
   * Seconds a tag, tag list or referrers answer may still be served when the upstream fails
   * (unreachable, 5xx, 429), marked with a `Warning` header. Cached digests are always served.
   * @default 604800 (7 days)
   */
  staleIfError?: number;
  /**
   * Seconds a tag list or referrers answer is served without asking upstream.
   * @default 60
   */
  listFreshness?: number;
}

export interface CacheOptions extends RouteCacheSettings {
  /**
   * Where content and metadata live: a filesystem directory store (`registry-proxy/node` and the
   * Deno and Bun adapters accept a directory path), an S3-compatible bucket, or any `CacheStore`.
   */
  store: CacheStore;
  /**
   * Bytes of content kept; least recently used content (and its links) goes first.
   * @default 10 GiB
   */
  maxSize?: number;
  /** Answer a blob hit with a 307 to a presigned store URL, when the store can sign one (S3). @default false */
  redirect?: boolean;
  /** Called for every cache decision, for metrics and logs. Must not throw. */
  onEvent?: (event: CacheEvent) => void;
}

/** What the cache did; `bytes` counts content bytes where there are any. */
export interface CacheEvent {
  type: 'hit' | 'miss' | 'fill' | 'fill_failed' | 'eviction' | 'served_stale' | 'revalidated' | 'store_error';
  /** `blob`, `manifest`, `tag`, `list` (tags/list and referrers). */
  kind?: 'blob' | 'manifest' | 'tag' | 'list';
  route?: string;
  digest?: string;
  bytes?: number;
  /** Why a fill failed or a stale answer was served. */
  reason?: string;
}

/**
 * Storage for the cache: content (blobs and manifests) by digest, links saying which route and
 * repository may see a digest, and small records (tags, tag lists). Verification, freshness and
 * eviction are the cache's job; a store only keeps bytes. Every method may throw when the
 * store is unreachable: the proxy then passes requests through.
 */
export interface CacheStore {
  /** Content by digest, or `undefined`. `range` is `[start, end)` in bytes, within the size. */
  get(digest: string, range?: { start: number; end: number }): Promise<StoredContent | undefined>;
  /** Size and type of stored content, without its bytes. */
  stat(digest: string): Promise<ContentInfo | undefined>;
  /** Starts writing content. Nothing is visible under `digest` until `commit()`. */
  put(digest: string, info: { contentType?: string }): Promise<ContentWriter>;
  /** Removes content and every link to it. */
  delete(digest: string): Promise<void>;
  /** Every stored content entry, for the eviction index rebuilt at start. */
  list(): AsyncIterable<ContentEntry>;
  /** Records a read, so an index rebuilt later orders by last use. */
  touch(digest: string): Promise<void>;
  /** Says that `owner` (route and repository) may see `digest`. */
  link(digest: string, owner: string): Promise<void>;
  unlink(digest: string, owner: string): Promise<void>;
  isLinked(digest: string, owner: string): Promise<boolean>;
  /** Small metadata (tag → digest, tag lists) by key. */
  getRecord(key: string): Promise<string | undefined>;
  putRecord(key: string, value: string): Promise<void>;
  deleteRecord(key: string): Promise<void>;
  /** A URL the client may fetch the content from directly, valid for `expiresSeconds`. */
  presign?(digest: string, expiresSeconds: number): Promise<string | undefined>;
}

export interface ContentInfo {
  size: number;
  contentType?: string;
}

export interface StoredContent extends ContentInfo {
  /** The requested bytes (the range, when one was asked for). */
  body: ReadableStream<Uint8Array>;
}

export interface ContentEntry {
  digest: string;
  size: number;
  /** Milliseconds since the epoch of the last write or `touch`. */
  lastUsed: number;
}

/** Content being written: `write` in order, then `commit` (publish) or `abort` (discard). */
export interface ContentWriter {
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Bytes `[start, end)` of what was written so far, so readers can follow a fill without the
   * cache holding it in memory. Stores that cannot (multipart uploads) leave it out: readers
   * then wait for the commit.
   */
  readWritten?(start: number, end: number): Promise<Uint8Array>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Who answers the client's token requests for a route:
 * - `client`: the upstream's token server, through the proxy's token endpoint (the client's own
 *   credentials pass through, as with the Go proxy);
 * - `proxy`: the proxy does the upstream dance itself (anonymously or with its credentials) and
 *   clients are either not challenged or authenticated by the proxy's own `auth`.
 */
export type TokenDance = 'client' | 'proxy';

export interface ResolvedRoute {
  name: string;
  upstream: URL;
  repositoryPrefix: string;
  officialImages: boolean;
  credentials: UpstreamCredentialsProvider | undefined;
  redirects: RedirectPolicy;
  readOnly: boolean;
  access: CompiledAccessRules;
  anonymousPull: boolean;
  hosts: string[];
  pathPrefix: string;
  namespaces: string[];
  tokenDance: TokenDance;
  /** Resolved per-route cache settings; `undefined` when the route is not cached. */
  cache: Required<RouteCacheSettings> | undefined;
  rateLimits: ResolvedRateLimits | undefined;
  concurrency: Required<UpstreamConcurrency> | undefined;
}

export interface ResolvedCache {
  store: CacheStore;
  maxSize: number;
  redirect: boolean;
  onEvent: (event: CacheEvent) => void;
}

export interface ResolvedRateLimits {
  requests: BucketSpec | undefined;
  blobBytes: (BucketSpec & { mode: 'pace' | 'reject' }) | undefined;
}

export interface ResolvedOptions {
  routes: ResolvedRoute[];
  auth: ResolvedClientAuth | undefined;
  browserRedirect: string | false;
  tokenPath: string;
  publicUrl: URL | undefined;
  trustForwardedHeaders: boolean;
  headersTimeout: number;
  idleTimeout: number;
  fetch: typeof fetch;
  onError: (error: unknown, request: Request) => void;
  cache: ResolvedCache | undefined;
  metrics: Required<MetricsOptions> | undefined;
  /** '' for the root, without a trailing slash; undefined when off. */
  healthPath: string | undefined;
  readiness: Required<ReadinessOptions>;
  rateLimits: ResolvedRateLimits | undefined;
  rateLimitStore: BucketStore | undefined;
  tracing: boolean;
  clock: Clock;
}

/** Matches repositories and, optionally, tags. Digests are never matched by `tags`. */
export interface AccessRule {
  /** Repository glob: `*` within one path segment, `**` across segments (`myorg/**`). */
  repository: string;
  /** Tag globs this rule is limited to (`latest`, `v1.*`). Without it the rule covers the whole repository. */
  tags?: string[];
}

export interface CompiledAccessRules {
  /** Whether any rule exists at all (the common case has none: skip all checks). */
  active: boolean;
  /** May this repository be reached at all (blobs, tags list, referrers, digests)? */
  allowsRepository(name: string): boolean;
  /** May this tag of an allowed repository be reached? */
  allowsTag(name: string, tag: string): boolean;
}

/** A user the proxy itself authenticates (Basic, or the proxy's own Bearer tokens). */
export interface ProxyUser {
  /** A hash made by `registry-proxy hash-password` (PBKDF2-SHA256). Plain passwords are never stored. */
  passwordHash: string;
  /** Repository globs (as clients name them) this user may pull. @default ['**'] */
  pull?: string[];
  /** Repository globs this user may push to, on upstreams with `readOnly: false`. @default [] */
  push?: string[];
}

export interface ClientAuthOptions {
  /** Users by name. */
  users?: Record<string, ProxyUser>;
  /**
   * Secret that signs the proxy's tokens (HS256), at least 32 characters. Set it when several
   * instances serve one domain, so a token from one is valid on all.
   * @default a random secret per proxy (per isolate on Workers), drawn on the first token request
   */
  tokenSecret?: string;
  /** Lifetime of the proxy's tokens, in seconds. @default 300 */
  tokenTtl?: number;
  /** The `service` of the proxy's challenges and the audience of its tokens. @default 'registry-proxy' */
  service?: string;
}

export interface ResolvedUser {
  passwordHash: string;
  pull: RegExp[];
  push: RegExp[];
}

export interface ResolvedClientAuth {
  users: Map<string, ResolvedUser>;
  /** `undefined`: a random secret drawn on first use (never at creation, see auth/options.ts). */
  tokenSecret: Uint8Array<ArrayBuffer> | undefined;
  tokenTtl: number;
  service: string;
}

/** One finished request, as adapters log it. Carries no headers, so never a credential. */
export interface RequestLogEntry {
  method: string;
  /** Path only: query strings of token requests name accounts. */
  path: string;
  status: number;
  /** Milliseconds until the response headers were ready (bodies stream on afterwards). */
  durationMs: number;
  userAgent: string | undefined;
  /** `X-Request-Id` as received or generated (and echoed), when tracing is on. */
  requestId?: string;
  /** The W3C trace id (32 hex digits), continued from the caller or started here. */
  traceId?: string;
  /** The proxy's span id for this request, and the caller's span it continues. */
  spanId?: string;
  parentSpanId?: string;
  sampled?: boolean;
  /** The route that served the request (`none` when none did). */
  route?: string;
  /** The last upstream exchange's status (or `error`, `timeout`, `cancelled`) and its time to headers. */
  upstreamStatus?: number | string;
  upstreamDurationMs?: number;
  /**
   * Body bytes sent: counted as the body streamed when metrics or byte limits are on (the entry
   * is then written when the body ends), else the `Content-Length` the response declared.
   */
  bytesSent?: number;
  request: Request;
  response: Response;
}

/** What `serve({ cache })` takes on Node, Deno and Bun: a store, or a directory path for the filesystem store. */
export interface ServeCacheOptions extends Omit<CacheOptions, 'store'> {
  /** A `CacheStore`, or a directory for the filesystem store (created when missing). */
  store: CacheStore | string;
}

/** What every runtime's `serve(options)` takes: the proxy's options plus where and how to listen. */
export interface ServeOptions extends Omit<RegistryProxyOptions, 'cache'> {
  /**
   * The pull-through cache. `store` may be a directory path: the filesystem store.
   * @example { store: '/var/cache/registry-proxy', maxSize: 50 * 1024 ** 3 }
   */
  cache?: ServeCacheOptions;
  /** `0` picks a free port. @default 8080 */
  port?: number;
  /** @default '0.0.0.0' */
  hostname?: string;
  /** Drain and exit on SIGTERM / SIGINT (what a CLI and Cloud Run want). @default false */
  handleSignals?: boolean;
  /** How long shutdown waits for in-flight pulls before closing their connections. @default 30000 */
  drainTimeout?: number;
  /** Called once per request when its response starts. */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Serve this handler instead of a new proxy built from the options. */
  handler?: FetchHandler;
  /**
   * Serve `/metrics`, `/healthz` and `/readyz` on a second listener at this port (`0` picks one),
   * so the public registry domain never exposes them. Turns `metrics` on unless it is `false`.
   * @default off
   */
  metricsPort?: number;
  /** Where the metrics listener listens. @default the `hostname` */
  metricsHostname?: string;
}

/** What every runtime's `serve` resolves to (each adapter adds its own `server`). */
export interface ServerAddress {
  /** e.g. `http://127.0.0.1:8080` */
  url: string;
  hostname: string;
  port: number;
  /** The metrics listener's URL (`http://127.0.0.1:9090`), when `metricsPort` is set. */
  metricsUrl?: string;
  /**
   * Fails `/readyz`, stops accepting connections, lets in-flight requests finish (up to
   * `drainTimeout`), closes the metrics listener last, then resolves.
   */
  close(): Promise<void>;
}
