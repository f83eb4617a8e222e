/**
 * Every option type of registry-proxy: what callers pass (`RegistryProxyOptions` and its parts)
 * and what `resolveOptions` makes of them (`Resolved*`). Imports nothing, so every layer may
 * import it.
 */

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
   */
  repositoryPrefix?: string;
  /**
   * Give single-segment names Docker Hub's `library/` (`alpine` → `library/alpine`), in paths
   * and token scopes, as the Docker client does implicitly.
   * @default true for Docker Hub without a repositoryPrefix, else false
   */
  officialImages?: boolean;
  /**
   * Credentials the proxy uses upstream so private images can be served publicly. When set,
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
  upstream: string;
  /** A short name for logs and token realms. @default derived from the upstream host */
  name?: string;
  /** Request hosts (`Host` header, port ignored) served by this upstream, e.g. `['ghcr.example.com']`. */
  hosts?: string[];
  /** A leading repository path that selects this upstream and is removed: `ghcr.io` serves `/v2/ghcr.io/owner/app/…`. */
  pathPrefix?: string;
  /** containerd mirror namespaces (`?ns=docker.io`) served by this upstream; answered with `OCI-Namespace`. */
  namespaces?: string[];
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
