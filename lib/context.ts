import { ClientAuthenticator } from './auth/client-auth.ts';
import { RegistryCache } from './cache/registry-cache.ts';
import { createNameMapping, type NameMapping } from './protocol/names.ts';
import type { ResolvedOptions, ResolvedRoute } from './options/types.ts';
import { TokenRealmDiscovery } from './upstream/token-realm.ts';
import { UpstreamAuthenticator } from './upstream/proxy-token-dance.ts';
import type { UpstreamFetchSettings, UpstreamObserver } from './upstream/fetch.ts';

/** One upstream with everything built for it once. */
export interface RouteContext {
  route: ResolvedRoute;
  names: NameMapping;
  upstreamOrigin: string;
  /** Present when the proxy does the upstream token dance itself (`tokenDance: 'proxy'`). */
  authenticator: UpstreamAuthenticator | undefined;
  /** Where client token requests are forwarded (`tokenDance: 'client'`). */
  tokenRealm: TokenRealmDiscovery;
  /** How this upstream is fetched: the proxy's settings plus the route's observer (metrics, tracing, its concurrency cap). */
  settings: UpstreamFetchSettings;
}

/** Everything a request handler needs, built once per proxy. */
export interface ProxyContext {
  options: ResolvedOptions;
  routes: RouteContext[];
  settings: UpstreamFetchSettings;
  /** Present when the proxy authenticates clients itself. */
  clientAuth: ClientAuthenticator | undefined;
  /** Present when pulls go through the cache (`options.cache`). */
  cache: RegistryCache | undefined;
  /** The route serving a request host, containerd `ns` and (when known) repository name. */
  selectRoute(host: string, ns: string | null, name: string | undefined): RouteContext | undefined;
}

/** `observerOf` gives each route's upstream exchanges their observer (see lib/operations/). */
export function createContext(options: ResolvedOptions, observerOf?: (route: ResolvedRoute) => UpstreamObserver | undefined): ProxyContext {
  const settings = { fetch: options.fetch, headersTimeout: options.headersTimeout };
  const routes: RouteContext[] = options.routes.map((route) => {
    const observer = observerOf?.(route);
    const routeSettings = observer ? { ...settings, observer } : settings;
    return {
      route,
      names: createNameMapping(route),
      upstreamOrigin: route.upstream.origin,
      authenticator: route.tokenDance === 'proxy' ? new UpstreamAuthenticator(route.upstream, route.credentials, routeSettings) : undefined,
      tokenRealm: new TokenRealmDiscovery(route.upstream, routeSettings),
      settings: routeSettings,
    };
  });
  return {
    options,
    settings,
    routes,
    clientAuth: options.auth ? new ClientAuthenticator(options.auth) : undefined,
    cache: options.cache ? new RegistryCache(options.cache, options.onError) : undefined,
    selectRoute: (host, ns, name) => selectRoute(routes, host, ns, name),
  };
}

/**
 * Picks the upstream for a request: the first route whose every criterion matches — the
 * request host, the containerd `ns` parameter, and (when a name is given) a path prefix the
 * name starts with. Nameless requests (the ping) never match a path-prefixed route.
 */
function selectRoute(routes: RouteContext[], host: string, ns: string | null, name: string | undefined): RouteContext | undefined {
  for (const candidate of routes) {
    const { route } = candidate;
    if (route.hosts.length > 0 && !route.hosts.includes(host)) continue;
    if (route.namespaces.length > 0 && (ns === null || !route.namespaces.includes(ns.toLowerCase()))) continue;
    if (route.pathPrefix !== '' && (name === undefined || candidate.names.toUpstream(name) === undefined)) continue;
    return candidate;
  }
  return undefined;
}

