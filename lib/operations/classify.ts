import type { ProxyContext, RouteContext } from '../context.ts';
import type { Endpoint } from '../metrics/proxy-metrics.ts';
import { requestHost } from '../protocol/host.ts';
import { parseRegistryPath } from '../protocol/paths.ts';

export interface Classified {
  endpoint: Endpoint;
  /** The repository as the client names it, for registry endpoints. */
  name: string | undefined;
  routeContext: RouteContext | undefined;
}

/**
 * What a request is for (its `endpoint` label) and which route serves it — worked out from the
 * path alone, before the router runs, so limits can refuse a request before it costs anything.
 */
export function classify(context: ProxyContext, request: Request, pathname: string): Classified {
  let endpoint: Endpoint = 'other';
  let name: string | undefined;
  if (pathname === '/v2/' || pathname === '/v2') endpoint = 'ping';
  else if (pathname === context.options.tokenPath) endpoint = 'token';
  else {
    const path = parseRegistryPath(pathname);
    if (path) {
      name = path.name;
      const read = request.method === 'GET' || request.method === 'HEAD';
      if (path.kind === 'manifests') endpoint = read ? 'manifest' : 'upload';
      else if (path.kind === 'blobs') endpoint = read && !path.rest.startsWith('uploads') ? 'blob' : 'upload';
      else if (path.kind === 'tags') endpoint = 'tags';
      else endpoint = 'referrers';
    }
  }
  if (endpoint === 'other') return { endpoint, name, routeContext: undefined };
  return { endpoint, name, routeContext: routeOf(context, request, name) ?? (endpoint === 'token' ? context.routes[0] : undefined) };
}

function routeOf(context: ProxyContext, request: Request, name: string | undefined): RouteContext | undefined {
  const only = context.routes.length === 1 ? context.routes[0]! : undefined;
  // One route that matches everything: no URL to parse (the common single-upstream proxy).
  if (only && only.route.hosts.length === 0 && only.route.namespaces.length === 0 && only.route.pathPrefix === '') return only;
  // A runtime may hand over a URL that does not parse (`Host: a b`): no route; the handler answers 400.
  if (!URL.canParse(request.url)) return undefined;
  const url = new URL(request.url);
  return context.selectRoute(requestHost(request, url, context.options.trustForwardedHeaders), url.searchParams.get('ns'), name);
}

/** The path of a request URL without parsing the whole URL (`http://host/path?query` → `/path`). */
export function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start === -1) return '/';
  const query = url.indexOf('?', start);
  const hash = url.indexOf('#', start);
  const end = query === -1 ? hash : hash === -1 ? query : Math.min(query, hash);
  return url.slice(start, end === -1 ? undefined : end);
}
