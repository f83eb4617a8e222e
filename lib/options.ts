import { isValidRepositoryName } from './reference.ts';

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

export interface RegistryProxyOptions {
  /**
   * The registry to front: a URL (`https://ghcr.io`, `http://127.0.0.1:5000`) or a bare host /
   * well-known name (`docker.io`, `gcr.io`, `us-docker.pkg.dev`), which means `https://`.
   * `docker.io`, `index.docker.io` and `registry.hub.docker.com` all mean Docker Hub's
   * `registry-1.docker.io`, where single-segment names get `library/`.
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
   * Credentials the proxy uses upstream so private images can be served publicly. When set,
   * the proxy does the token dance itself; clients are never challenged, get pull access only,
   * and their own `Authorization` is not forwarded.
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
   * are passed through with names mapped (pushing through the proxy).
   * @default true
   */
  readOnly?: boolean;
  /**
   * Where `GET /` (a browser visiting the domain) is sent with a 307. `false` answers 404.
   * @default false
   */
  browserRedirect?: string | false;
  /**
   * Path of the proxy's own token endpoint, which the upstream's `WWW-Authenticate` realm is
   * rewritten to point at.
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

export interface ResolvedOptions {
  upstream: URL;
  isDockerHub: boolean;
  repositoryPrefix: string;
  credentials: UpstreamCredentialsProvider | undefined;
  redirects: RedirectPolicy;
  readOnly: boolean;
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

export class RegistryProxyOptionsError extends TypeError {
  override name = 'RegistryProxyOptionsError';
  readonly option: string;

  constructor(option: string, message: string) {
    super(`registry-proxy: option "${option}" ${message}`);
    this.option = option;
  }
}

/** Turns `docker.io`, `ghcr.io`, `127.0.0.1:5000` or a full URL into the upstream's origin URL. */
export function parseUpstream(value: string): URL {
  const wellKnown = WELL_KNOWN_UPSTREAMS[value.toLowerCase()];
  const text = wellKnown ?? (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `https://${value}`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RegistryProxyOptionsError('upstream', `must be a URL or a registry host, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RegistryProxyOptionsError('upstream', `must use http or https, got ${JSON.stringify(value)}`);
  }
  if (url.username || url.password) {
    throw new RegistryProxyOptionsError('upstream', 'must not carry credentials; use the "credentials" option');
  }
  if ((url.pathname !== '/' && url.pathname !== '/v2' && url.pathname !== '/v2/') || url.search || url.hash) {
    throw new RegistryProxyOptionsError(
      'upstream',
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

function resolveCredentials(
  value: RegistryProxyOptions['credentials'],
): UpstreamCredentialsProvider | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'function') return value;
  validateCredentials(value, 'credentials');
  return () => value;
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

/** Validates options once, at creation, so a bad value fails loudly with the option's name. */
export function resolveOptions(options: RegistryProxyOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new RegistryProxyOptionsError('options', 'must be an object');
  }
  const upstream = parseUpstream(options.upstream ?? 'docker.io');

  const repositoryPrefix = (options.repositoryPrefix ?? '').replace(/^\/+|\/+$/g, '');
  if (repositoryPrefix !== '' && !isValidRepositoryName(repositoryPrefix)) {
    throw new RegistryProxyOptionsError(
      'repositoryPrefix',
      `must be a valid repository path like "my-project/my-repo", got ${JSON.stringify(options.repositoryPrefix)}`,
    );
  }

  const redirects = options.redirects ?? 'pass';
  if (redirects !== 'pass' && redirects !== 'follow') {
    throw new RegistryProxyOptionsError('redirects', `must be "pass" or "follow", got ${JSON.stringify(redirects)}`);
  }

  const browserRedirect = options.browserRedirect ?? false;
  if (browserRedirect !== false) {
    try {
      new URL(browserRedirect);
    } catch {
      throw new RegistryProxyOptionsError('browserRedirect', `must be an absolute URL or false, got ${JSON.stringify(browserRedirect)}`);
    }
  }

  const tokenPath = options.tokenPath ?? '/_token';
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(tokenPath) || tokenPath === '/' || tokenPath.startsWith('/v2/') || tokenPath === '/v2') {
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

  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') {
    throw new RegistryProxyOptionsError('fetch', 'must be a function');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new RegistryProxyOptionsError('onError', 'must be a function');
  }

  const readOnly = options.readOnly ?? true;
  if (!readOnly && options.credentials !== undefined) {
    // Every client would push with the proxy's identity: refuse until clients authenticate to the proxy.
    throw new RegistryProxyOptionsError('readOnly', 'must stay true when the proxy holds upstream credentials');
  }

  return {
    upstream,
    isDockerHub: upstream.hostname === DOCKER_HUB_HOST,
    repositoryPrefix,
    credentials: resolveCredentials(options.credentials),
    redirects,
    readOnly,
    browserRedirect,
    tokenPath,
    publicUrl,
    trustForwardedHeaders: options.trustForwardedHeaders ?? false,
    headersTimeout: positiveMilliseconds('timeouts.headers', options.timeouts?.headers, 30_000),
    idleTimeout: positiveMilliseconds('timeouts.idle', options.timeouts?.idle, 60_000),
    // Bound so that a fetch taken from an object (e.g. `globalThis`) keeps its receiver.
    fetch: options.fetch ? options.fetch : (input, init) => globalThis.fetch(input, init),
    onError: options.onError ?? (() => {}),
  };
}
