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
export function classify(context: ProxyContext, request: Request, url: URL): Classified {
  const { pathname } = url;
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
  const host = requestHost(request, url, context.options.trustForwardedHeaders);
  const routeContext = selectRoute(context, host, url.searchParams.get('ns'), name) ?? (endpoint === 'token' ? context.routes[0] : undefined);
  return { endpoint, name, routeContext };
}
