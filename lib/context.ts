import { ClientAuthenticator } from './auth/client-auth.ts';
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
}

/** `observerOf` gives each route's upstream exchanges their observer (see lib/operations/). */
export function createContext(options: ResolvedOptions, observerOf?: (route: ResolvedRoute) => UpstreamObserver | undefined): ProxyContext {
  const settings = { fetch: options.fetch, headersTimeout: options.headersTimeout };
  return {
    options,
    settings,
    routes: options.routes.map((route) => {
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
    }),
    clientAuth: options.auth ? new ClientAuthenticator(options.auth) : undefined,
  };
}

/** The request's host without port, lower-cased, as routes name hosts. */
export function requestHost(request: Request, url: URL, trustForwardedHeaders: boolean): string {
  const forwarded = trustForwardedHeaders ? firstValue(request.headers.get('x-forwarded-host')) : undefined;
  const host = forwarded ?? url.host;
  return (host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!).toLowerCase();
}

/**
 * Picks the upstream for a request: the first route whose every criterion matches — the
 * request host, the containerd `ns` parameter, and (when a name is given) a path prefix the
 * name starts with. Nameless requests (the ping) never match a path-prefixed route.
 */
export function selectRoute(context: ProxyContext, host: string, ns: string | null, name: string | undefined): RouteContext | undefined {
  for (const candidate of context.routes) {
    const { route } = candidate;
    if (route.hosts.length > 0 && !route.hosts.includes(host)) continue;
    if (route.namespaces.length > 0 && (ns === null || !route.namespaces.includes(ns.toLowerCase()))) continue;
    if (route.pathPrefix !== '' && (name === undefined || candidate.names.toUpstream(name) === undefined)) continue;
    return candidate;
  }
  return undefined;
}

/** The proxy's own origin as clients reach it, for URLs it hands out (the token realm). */
export function publicOrigin(context: ProxyContext, request: Request): string {
  const { publicUrl, trustForwardedHeaders } = context.options;
  if (publicUrl) return publicUrl.origin;
  const url = new URL(request.url);
  if (trustForwardedHeaders) {
    const proto = firstValue(request.headers.get('x-forwarded-proto'));
    const host = firstValue(request.headers.get('x-forwarded-host'));
    const protocol = proto === 'http' || proto === 'https' ? proto : url.protocol.slice(0, -1);
    if (host && /^[A-Za-z0-9.\-:[\]]+$/.test(host)) return `${protocol}://${host}`;
    return `${protocol}://${url.host}`;
  }
  return url.origin;
}

function firstValue(header: string | null): string | undefined {
  return header?.split(',')[0]?.trim() || undefined;
}
