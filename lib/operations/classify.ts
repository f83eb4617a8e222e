import { requestHost, selectRoute, type ProxyContext, type RouteContext } from '../context.ts';
import type { Endpoint } from '../metrics/proxy-metrics.ts';

const UPLOAD_PATH = /^\/v2\/(.+)\/blobs\/uploads(?:\/.*)?$/;
const REGISTRY_PATH = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/[^/]*$/;

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
  const read = request.method === 'GET' || request.method === 'HEAD';
  let endpoint: Endpoint = 'other';
  let name: string | undefined;
  if (pathname === '/v2/' || pathname === '/v2') endpoint = 'ping';
  else if (pathname === context.options.tokenPath) endpoint = 'token';
  else {
    const upload = UPLOAD_PATH.exec(pathname);
    const match = upload ? undefined : REGISTRY_PATH.exec(pathname);
    if (upload) {
      endpoint = 'upload';
      name = upload[1];
    } else if (match) {
      name = match[1];
      const kind = match[2];
      if (kind === 'manifests') endpoint = read ? 'manifest' : 'upload';
      else if (kind === 'blobs') endpoint = read ? 'blob' : 'upload';
      else if (kind === 'tags') endpoint = 'tags';
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
  const url = new URL(request.url);
  return selectRoute(context, requestHost(request, url, context.options.trustForwardedHeaders), url.searchParams.get('ns'), name);
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
