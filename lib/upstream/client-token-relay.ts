import type { ProxyContext, RouteContext } from '../context.ts';
import { requestHost } from '../protocol/host.ts';
import { ociError } from '../protocol/errors.ts';
import { readForm } from '../protocol/form.ts';
import { clientResponseHeaders, pickHeaders } from '../protocol/headers.ts';
import { mapScopeList, repositoryScopeName, scopeToUpstream } from '../protocol/scope.ts';
import { fetchUpstream } from './fetch.ts';

const FORWARDED_TOKEN_HEADERS = ['authorization', 'user-agent', 'accept'];

/**
 * The token endpoint that rewritten upstream challenges point clients at (`tokenDance:
 * 'client'`). It forwards to the realm the upstream announced — never to a host the client
 * names — with every scope mapped to upstream names: repeated GET `scope` parameters
 * (containerd), space-separated scopes, the OAuth2 POST form (containerd with credentials), and
 * an empty or missing scope (`docker login`, Harbor). Scopes the access rules refuse are
 * dropped, so a token never covers more than the proxy serves. The client's own
 * `Authorization` passes through; the token response comes back unchanged.
 */
export async function handleTokenRequest(context: ProxyContext, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const routeContext = context.selectRoute(requestHost(request, url, context.options.trustForwardedHeaders), url.searchParams.get('ns'), undefined)
    ?? context.routes.find((candidate) => candidate.route.tokenDance === 'client');
  if (!routeContext || routeContext.route.tokenDance !== 'client') {
    throw ociError('notFound', 'this proxy authenticates to its upstream itself; no token is needed');
  }
  const mapScopes = (list: string) => mapScopeList(list, (scope) => allowedUpstreamScope(routeContext, scope));

  // Map (and so validate) every scope before anything is sent upstream.
  const headers = pickHeaders(request.headers, FORWARDED_TOKEN_HEADERS);
  const params = new URLSearchParams();
  let body: string | null = null;
  if (request.method === 'POST') {
    // Every repeated `scope` field is mapped in place, as repeated GET parameters are.
    const form = new URLSearchParams();
    for (const [name, value] of await readForm(request)) form.append(name, name === 'scope' ? mapScopes(value) : value);
    body = form.toString();
    headers.set('content-type', 'application/x-www-form-urlencoded');
  } else {
    for (const [name, value] of url.searchParams) {
      if (name === 'ns') continue; // our own routing hint, not the upstream's
      if (name !== 'scope') params.append(name, value);
      else {
        const mapped = mapScopes(value);
        if (mapped) params.append('scope', mapped);
      }
    }
  }

  const realm = await routeContext.tokenRealm.realm();
  if (!realm) {
    throw ociError('notFound', 'the upstream registry does not use token authentication');
  }
  const target = new URL(realm.realm);
  for (const [name, value] of params) target.searchParams.append(name, value);

  const response = await fetchUpstream(routeContext.settings, target, { method: request.method, headers, body, client: request });
  const responseHeaders = clientResponseHeaders(response.headers);
  responseHeaders.delete('location'); // a token server has no business sending clients elsewhere
  responseHeaders.delete('www-authenticate');
  responseHeaders.set('cache-control', 'no-store');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: responseHeaders });
}

/** A client scope in upstream names, or `undefined` when the access rules refuse its repository. */
function allowedUpstreamScope(routeContext: RouteContext, scope: string): string | undefined {
  const name = repositoryScopeName(scope);
  if (name !== undefined && routeContext.route.access.active) {
    const canonical = routeContext.names.canonical(name);
    if (canonical === undefined || !routeContext.route.access.allowsRepository(canonical)) return undefined;
  }
  return scopeToUpstream(scope, routeContext.names);
}
