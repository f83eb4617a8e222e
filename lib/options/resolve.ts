import { compileAccessRules, type AccessRule, type CompiledAccessRules } from '../auth/access-rules.ts';
import { resolveClientAuth, type ClientAuthOptions, type ResolvedClientAuth } from '../auth/options.ts';
import { RegistryProxyOptionsError } from './error.ts';
import { isValidRepositoryName } from '../protocol/reference.ts';

export { RegistryProxyOptionsError } from './error.ts';

/** Upstream credentials held by the proxy, never shown to clients. */
export type UpstreamCredentials =
  | { username: string; password: string }
  /** A literal `Authorization` value, e.g. `Basic dXNlcjpwYXNz` or `Bearer abc` (the Go proxy's `AUTH_HEADER`). */
  | { authorization: string };

/** Returns credentials on demand, e.g. a short-lived access token from a metadata server. Called whenever the proxy needs a new upstream token. */
export type UpstreamCredentialsProvider = () => Promise<UpstreamCredentials> | UpstreamCredentials;

/** What the proxy does with a redirect from the upstream (blob downloads go to CDNs / signed URLs). */
export type RedirectPolicy = 'pass' | 'follow';

export type { AccessRule } from '../auth/access-rules.ts';
export type { ClientAuthOptions, ProxyUser } from '../auth/options.ts';

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

const WELL_KNOWN_UPSTREAMS: Record<string, string> = {
  'docker.io': 'https://registry-1.docker.io',
  'index.docker.io': 'https://registry-1.docker.io',
  'registry.hub.docker.com': 'https://registry-1.docker.io',
  'registry-1.docker.io': 'https://registry-1.docker.io',
};

const DOCKER_HUB_HOST = 'registry-1.docker.io';

/** Turns `docker.io`, `ghcr.io`, `127.0.0.1:5000` or a full URL into the upstream's origin URL. */
export function parseUpstream(value: string, option = 'upstream'): URL {
  if (typeof value !== 'string' || value === '') {
    throw new RegistryProxyOptionsError(option, 'must be a URL or a registry host');
  }
  const wellKnown = WELL_KNOWN_UPSTREAMS[value.toLowerCase()];
  const text = wellKnown ?? (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RegistryProxyOptionsError(option, `must be a URL or a registry host, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RegistryProxyOptionsError(option, `must use http or https, got ${JSON.stringify(value)}`);
  }
  if (url.username || url.password) {
    throw new RegistryProxyOptionsError(option, 'must not carry credentials; use the "credentials" option');
  }
  if ((url.pathname !== '/' && url.pathname !== '/v2' && url.pathname !== '/v2/') || url.search || url.hash) {
    throw new RegistryProxyOptionsError(
      option,
      `must be a registry origin without a path (put repository paths in "repositoryPrefix"), got ${JSON.stringify(value)}`,
    );
  }
  return new URL(url.origin);
}

function positiveMilliseconds(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RegistryProxyOptionsError(option, `must be a number of milliseconds >= 0, got ${String(value)}`);
  }
  return value;
}

/** Checks the shape of credentials, whether configured statically or returned by a provider. */
export function validateCredentials(value: unknown, option = 'credentials'): UpstreamCredentials {
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.authorization === 'string') {
      if (!/^(basic|bearer) \S+$/i.test(record.authorization)) {
        throw new RegistryProxyOptionsError(option, 'authorization must look like "Basic <base64>" or "Bearer <token>"');
      }
      return value as UpstreamCredentials;
    }
    if (typeof record.username === 'string' && typeof record.password === 'string') {
      if (record.username === '' || record.username.includes(':')) {
        throw new RegistryProxyOptionsError(option, 'username must be non-empty and must not contain ":"');
      }
      return value as UpstreamCredentials;
    }
  }
  throw new RegistryProxyOptionsError(
    option,
    'must be { username, password }, { authorization }, or a function returning one of them',
  );
}

function resolveCredentials(value: UpstreamSettings['credentials'], option: string): UpstreamCredentialsProvider | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value;
  validateCredentials(value, option);
  return () => value;
}

function optionalList(value: unknown, option: string, check: (item: string) => boolean, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === 'string' && check(item))) {
    throw new RegistryProxyOptionsError(option, `must be a non-empty list of ${what}`);
  }
  return value.map((item: string) => item.toLowerCase());
}

const HOST_NAME = /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/i;

function resolveRoute(
  settings: UpstreamRoute | UpstreamSettings,
  at: string,
  defaults: { redirects: RedirectPolicy | undefined; readOnly: boolean | undefined },
  hasClientAuth: boolean,
  single: boolean,
): ResolvedRoute {
  const option = (name: string) => (at ? `${at}.${name}` : name);
  const route = settings as UpstreamRoute;
  const upstream = parseUpstream(settings.upstream ?? 'docker.io', option('upstream'));

  const givenPrefix: unknown = settings.repositoryPrefix ?? '';
  const repositoryPrefix = typeof givenPrefix === 'string' ? givenPrefix.replace(/^\/+|\/+$/g, '') : givenPrefix;
  if (typeof repositoryPrefix !== 'string' || (repositoryPrefix !== '' && !isValidRepositoryName(repositoryPrefix))) {
    throw new RegistryProxyOptionsError(
      option('repositoryPrefix'),
      `must be a valid repository path like "my-project/my-repo", got ${JSON.stringify(settings.repositoryPrefix)}`,
    );
  }
  const pathPrefix = (route.pathPrefix ?? '').replace(/^\/+|\/+$/g, '');
  if (pathPrefix !== '' && !isValidRepositoryName(pathPrefix)) {
    throw new RegistryProxyOptionsError(option('pathPrefix'), `must be a repository path like "ghcr.io", got ${JSON.stringify(route.pathPrefix)}`);
  }

  const redirects = settings.redirects ?? defaults.redirects ?? 'pass';
  if (redirects !== 'pass' && redirects !== 'follow') {
    throw new RegistryProxyOptionsError(option('redirects'), `must be "pass" or "follow", got ${JSON.stringify(redirects)}`);
  }
  const readOnly = settings.readOnly ?? defaults.readOnly ?? true;
  if (typeof readOnly !== 'boolean') throw new RegistryProxyOptionsError(option('readOnly'), 'must be true or false');
  const credentials = resolveCredentials(settings.credentials, option('credentials'));
  if (!readOnly && credentials && !hasClientAuth) {
    // Every client would push with the proxy's identity: only clients the proxy authenticated may.
    throw new RegistryProxyOptionsError(option('readOnly'), 'must stay true when the proxy holds upstream credentials, unless "auth" authenticates clients');
  }
  const officialImages = settings.officialImages ?? (upstream.hostname === DOCKER_HUB_HOST && repositoryPrefix === '');
  if (typeof officialImages !== 'boolean') throw new RegistryProxyOptionsError(option('officialImages'), 'must be true or false');

  const tokenDance: TokenDance = credentials || hasClientAuth || !single ? 'proxy' : 'client';
  return {
    name: route.name ?? upstream.host,
    upstream,
    repositoryPrefix,
    officialImages,
    credentials,
    redirects,
    readOnly,
    access: compileAccessRules(settings.allow, settings.deny, option),
    anonymousPull: settings.anonymousPull ?? true,
    hosts: optionalList(route.hosts, option('hosts'), (host) => HOST_NAME.test(host), 'host names'),
    pathPrefix,
    namespaces: optionalList(route.namespaces, option('namespaces'), (ns) => HOST_NAME.test(ns) || /^[a-z0-9.-]+:\d+$/i.test(ns), 'registry hosts like "docker.io"'),
    tokenDance,
  };
}

/** A route matches a request when every criterion it sets does; later routes are only reached when earlier ones do not match. */
function shadows(earlier: ResolvedRoute, later: ResolvedRoute): boolean {
  const hosts = earlier.hosts.length === 0 || later.hosts.length > 0 && later.hosts.every((host) => earlier.hosts.includes(host));
  const path =
    earlier.pathPrefix === '' || later.pathPrefix === earlier.pathPrefix || later.pathPrefix.startsWith(`${earlier.pathPrefix}/`);
  const namespaces =
    earlier.namespaces.length === 0 || later.namespaces.length > 0 && later.namespaces.every((ns) => earlier.namespaces.includes(ns));
  return hosts && path && namespaces;
}

const SINGLE_UPSTREAM_KEYS = ['upstream', 'repositoryPrefix', 'officialImages', 'credentials', 'allow', 'deny', 'anonymousPull'] as const;

function resolveRoutes(options: RegistryProxyOptions, hasClientAuth: boolean): ResolvedRoute[] {
  const defaults = { redirects: options.redirects, readOnly: options.readOnly };
  if (options.upstreams === undefined) {
    return [resolveRoute(options, '', defaults, hasClientAuth, true)];
  }
  if (!Array.isArray(options.upstreams) || options.upstreams.length === 0) {
    throw new RegistryProxyOptionsError('upstreams', 'must be a non-empty list of routes');
  }
  for (const key of SINGLE_UPSTREAM_KEYS) {
    if (options[key] !== undefined) {
      throw new RegistryProxyOptionsError(key, 'cannot be combined with "upstreams": set it on each route');
    }
  }
  const single = options.upstreams.length === 1;
  const routes = options.upstreams.map((route, index) => {
    if (typeof route !== 'object' || route === null || typeof route.upstream !== 'string') {
      throw new RegistryProxyOptionsError(`upstreams[${index}].upstream`, 'is required');
    }
    return resolveRoute(route, `upstreams[${index}]`, defaults, hasClientAuth, single);
  });
  const names = new Set<string>();
  routes.forEach((route, index) => {
    if (names.has(route.name)) {
      throw new RegistryProxyOptionsError(`upstreams[${index}].name`, `duplicates another route's name ${JSON.stringify(route.name)}; name routes to the same upstream apart`);
    }
    names.add(route.name);
    for (let earlier = 0; earlier < index; earlier++) {
      if (shadows(routes[earlier]!, route)) {
        throw new RegistryProxyOptionsError(
          `upstreams[${index}]`,
          `is unreachable: upstreams[${earlier}] (${routes[earlier]!.name}) matches every request it would`,
        );
      }
    }
  });
  return routes;
}

/** Validates options once, at creation, so a bad value fails loudly with the option's name. */
export function resolveOptions(options: RegistryProxyOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new RegistryProxyOptionsError('options', 'must be an object');
  }
  const auth = options.auth === undefined ? undefined : resolveClientAuth(options.auth);
  const routes = resolveRoutes(options, auth !== undefined);

  const browserRedirect = options.browserRedirect ?? false;
  if (browserRedirect !== false) {
    try {
      new URL(browserRedirect);
    } catch {
      throw new RegistryProxyOptionsError('browserRedirect', `must be an absolute URL or false, got ${JSON.stringify(browserRedirect)}`);
    }
  }

  const tokenPath: unknown = options.tokenPath ?? '/_token';
  if (typeof tokenPath !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(tokenPath) || tokenPath === '/' || tokenPath.startsWith('/v2/') || tokenPath === '/v2') {
    throw new RegistryProxyOptionsError('tokenPath', `must be an absolute path outside /v2/, got ${JSON.stringify(tokenPath)}`);
  }

  let publicUrl: URL | undefined;
  if (options.publicUrl !== undefined) {
    try {
      publicUrl = new URL(options.publicUrl);
    } catch {
      throw new RegistryProxyOptionsError('publicUrl', `must be an absolute URL, got ${JSON.stringify(options.publicUrl)}`);
    }
    if (publicUrl.protocol !== 'https:' && publicUrl.protocol !== 'http:') {
      throw new RegistryProxyOptionsError('publicUrl', 'must use http or https');
    }
  }

  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new RegistryProxyOptionsError('fetch', 'must be a function');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new RegistryProxyOptionsError('onError', 'must be a function');
  }

  return {
    routes,
    auth,
    browserRedirect,
    tokenPath,
    publicUrl,
    trustForwardedHeaders: options.trustForwardedHeaders ?? false,
    headersTimeout: positiveMilliseconds('timeouts.headers', options.timeouts?.headers, 30_000),
    idleTimeout: positiveMilliseconds('timeouts.idle', options.timeouts?.idle, 60_000),
    // Looked up per call so a fetch patched later (msw, instrumentation) is still used.
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    onError: options.onError ?? (() => {}),
  };
}
