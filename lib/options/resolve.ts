import { compileAccessRules } from '../auth/access-rules.ts';
import { resolveClientAuth } from '../auth/options.ts';
import { isValidRepositoryName } from '../protocol/reference.ts';
import { RegistryProxyOptionsError } from './error.ts';
import type {
  RedirectPolicy,
  RegistryProxyOptions,
  ResolvedOptions,
  ResolvedRoute,
  TokenDance,
  UpstreamCredentials,
  UpstreamCredentialsProvider,
  UpstreamRoute,
  UpstreamSettings,
} from './types.ts';

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
