import { ClientAuthenticator } from './auth/client-auth.ts';
import { createNameMapping, type NameMapping } from './protocol/names.ts';
import type { ResolvedOptions, ResolvedRoute } from './options/types.ts';
import { TokenRealmDiscovery } from './upstream/token-realm.ts';
import { UpstreamAuthenticator } from './upstream/proxy-token-dance.ts';
import type { UpstreamFetchSettings } from './upstream/fetch.ts';

/** One upstream with everything built for it once. */
export interface RouteContext {
  route: ResolvedRoute;
  names: NameMapping;
  upstreamOrigin: string;
  /** Present when the proxy does the upstream token dance itself (`tokenDance: 'proxy'`). */
  authenticator: UpstreamAuthenticator | undefined;
  /** Where client token requests are forwarded (`tokenDance: 'client'`). */
  tokenRealm: TokenRealmDiscovery;
}

/** Everything a request handler needs, built once per proxy. */
export interface ProxyContext {
  options: ResolvedOptions;
  routes: RouteContext[];
  settings: UpstreamFetchSettings;
  /** Present when the proxy authenticates clients itself. */
  clientAuth: ClientAuthenticator | undefined;
  /** The route serving a request host, containerd `ns` and (when known) repository name. */
  selectRoute(host: string, ns: string | null, name: string | undefined): RouteContext | undefined;
}

export function createContext(options: ResolvedOptions): ProxyContext {
  const settings = { fetch: options.fetch, headersTimeout: options.headersTimeout };
  const routes: RouteContext[] = options.routes.map((route) => ({
    route,
    names: createNameMapping(route),
    upstreamOrigin: route.upstream.origin,
    authenticator: route.tokenDance === 'proxy' ? new UpstreamAuthenticator(route.upstream, route.credentials, settings) : undefined,
    tokenRealm: new TokenRealmDiscovery(route.upstream, settings),
  }));
  return {
    options,
    settings,
    routes,
    clientAuth: options.auth ? new ClientAuthenticator(options.auth) : undefined,
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

