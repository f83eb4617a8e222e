import { IttyRouter, type IRequest } from 'itty-router';
import { authorizeRegistryRequest, proxyChallenge } from './auth/authorization.ts';
import type { Action } from './auth/client-auth.ts';
import { createContext, requestHost, selectRoute, type ProxyContext, type RouteContext } from './context.ts';
import { OciError, ociErrorResponse } from './protocol/errors.ts';
import { fitsNameLimit } from './protocol/names.ts';
import type { ResolvedOptions } from './options/types.ts';
import { handleProxyTokenRequest } from './auth/token-endpoint.ts';
import { isValidDigest, isValidReference, isValidRepositoryName } from './protocol/reference.ts';
import { forwardRegistryRequest } from './upstream/forward.ts';
import { rewriteTagList } from './protocol/tag-list.ts';
import { handleTokenRequest } from './upstream/client-token-relay.ts';

const WRITE_PATH = /^\/v2\/(.+)\/(manifests|blobs)\/(.*)$/;

/** A registry request resolved to its upstream: the route, both names, and the query to send. */
interface Target {
  routeContext: RouteContext;
  clientName: string;
  upstreamName: string;
  url: URL;
  ns: string | null;
}

function checkName(name: string | undefined): string {
  // itty-router hands us the raw path segment: anything percent-encoded (an encoded slash, a
  // dot segment) fails the name grammar here instead of being decoded into a path trick.
  if (name === undefined || !isValidRepositoryName(name)) {
    throw new OciError(400, 'NAME_INVALID', 'invalid repository name', { name: name?.slice(0, 300) });
  }
  return name;
}

/** containerd's mirror parameter is for us; the upstream gets the query without it. */
function upstreamSearch(url: URL): string {
  if (!url.searchParams.has('ns')) return url.search;
  const params = new URLSearchParams(url.search);
  params.delete('ns');
  const search = params.toString();
  return search === '' ? '' : `?${search}`;
}

export function buildRouter(options: ResolvedOptions) {
  const context: ProxyContext = createContext(options);
  const router = IttyRouter<IRequest, [Request]>();
  const hostOf = (request: Request, url: URL) => requestHost(request, url, options.trustForwardedHeaders);

  /** Validates the name, picks the upstream, maps the name, and applies rules and client auth. */
  const resolveTarget = async (original: Request, name: string | undefined, action: Action, tag?: string): Promise<Target> => {
    const clientName = checkName(name);
    const url = new URL(original.url);
    const ns = url.searchParams.get('ns');
    const routeContext = selectRoute(context, hostOf(original, url), ns, clientName);
    if (!routeContext) throw new OciError(404, 'NAME_UNKNOWN', 'no upstream serves this repository', { name: clientName });
    const upstreamName = routeContext.names.toUpstream(clientName)!;
    if (!fitsNameLimit(upstreamName)) {
      throw new OciError(400, 'NAME_INVALID', 'repository name too long once the proxy prefix is added', { name: clientName });
    }
    await authorizeRegistryRequest(context, routeContext, original, clientName, action, tag, ns);
    return { routeContext, clientName, upstreamName, url, ns };
  };

  /** Forwards and, when the route was chosen by `ns`, says so as the spec asks (`OCI-Namespace`). */
  const forward = async (original: Request, target: Target, rest: string, search: string, actions: 'pull' | 'pull,push') => {
    const response = await forwardRegistryRequest(context, target.routeContext, original, {
      path: `/v2/${target.upstreamName}/${rest}`,
      search,
      scope: `repository:${target.upstreamName}:${actions}`,
    });
    if (target.ns !== null && target.routeContext.route.namespaces.length > 0) response.headers.set('oci-namespace', target.ns);
    return response;
  };

  const ping = async (request: IRequest, original: Request) => {
    const url = new URL(original.url);
    const ns = url.searchParams.get('ns');
    if (context.clientAuth) {
      // Like Docker Hub: challenge until credentials (or a token) are shown, so clients that
      // have them send them; anonymous clients then get an anonymous token.
      const identity = await context.clientAuth.identify(original.headers.get('authorization'));
      if (!identity || identity.kind === 'anonymous') {
        throw new OciError(401, 'UNAUTHORIZED', 'authentication required', null, {
          'www-authenticate': proxyChallenge(context, original, undefined, identity ? undefined : 'invalid_token', ns),
        });
      }
    }
    const routeContext = selectRoute(context, hostOf(original, url), ns, undefined);
    if (!routeContext || routeContext.route.tokenDance === 'proxy') {
      // Nothing for the client to do upstream: the proxy authenticates there itself.
      return new Response(request.method === 'HEAD' ? null : '{}', {
        headers: { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' },
      });
    }
    // The client does the upstream's dance: its ping shows the upstream's challenge, rewritten.
    return forwardRegistryRequest(context, routeContext, original, { path: '/v2/', search: '', scope: '' });
  };

  const manifest = async (request: IRequest, original: Request) => {
    const reference = request.params.reference!;
    if (!isValidReference(reference)) {
      checkName(request.params.name);
      throw reference.includes(':')
        ? new OciError(400, 'DIGEST_INVALID', 'invalid digest', { digest: reference.slice(0, 300) })
        : new OciError(400, 'TAG_INVALID', 'invalid tag', { tag: reference.slice(0, 300) });
    }
    const target = await resolveTarget(original, request.params.name, 'pull', reference.includes(':') ? undefined : reference);
    return forward(original, target, `manifests/${reference}`, upstreamSearch(target.url), 'pull');
  };

  const byDigest = (kind: 'blobs' | 'referrers') => async (request: IRequest, original: Request) => {
    const digest = request.params.digest!;
    if (!isValidDigest(digest)) {
      checkName(request.params.name);
      throw new OciError(400, 'DIGEST_INVALID', 'invalid digest', { digest: digest.slice(0, 300) });
    }
    const target = await resolveTarget(original, request.params.name, 'pull');
    const response = await forward(original, target, `${kind}/${digest}`, upstreamSearch(target.url), 'pull');
    // A followed CDN redirect ends at a host that knows nothing of digests; the spec says the
    // registry MUST send it, and the path names it.
    if (kind === 'blobs' && response.ok && !response.headers.has('docker-content-digest')) {
      response.headers.set('docker-content-digest', digest);
    }
    return response;
  };

  const tags = async (request: IRequest, original: Request) => {
    const target = await resolveTarget(original, request.params.name, 'pull');
    const response = await forward(original, target, 'tags/list', upstreamSearch(target.url), 'pull');
    const { route, names } = target.routeContext;
    const canonical = names.canonical(target.clientName)!;
    return rewriteTagList(response, target.clientName, route.access.active ? (tag) => route.access.allowsTag(canonical, tag) : undefined, options.idleTimeout);
  };

  const otherRegistryRequest = async (request: IRequest, original: Request) => {
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    const match = isRead ? null : WRITE_PATH.exec(new URL(original.url).pathname);
    if (!match) {
      const readOnly = context.routes.every((candidate) => candidate.route.readOnly);
      return !isRead && readOnly
        ? ociErrorResponse(405, 'UNSUPPORTED', 'this registry proxy is read-only', null, { allow: 'GET, HEAD' })
        : ociErrorResponse(404, 'UNSUPPORTED', 'this registry API endpoint is not served by the proxy');
    }
    // A manifest PUT/DELETE by tag writes that tag: tag rules apply to it as they do to pulls.
    const tag = match[2] === 'manifests' && !match[3]!.includes(':') ? match[3] : undefined;
    const target = await resolveTarget(original, match[1], 'push', tag);
    const url = new URL(original.url);
    url.searchParams.delete('ns');
    const from = url.searchParams.get('from');
    if (from !== null) {
      // A cross-repository mount reads its source: the client must be allowed to pull it, and
      // the upstream knows it by its own name (`?mount=<digest>&from=<name>`).
      const source = await resolveTarget(original, from, 'pull');
      if (source.routeContext !== target.routeContext) url.searchParams.delete('from'); // cannot mount across upstreams: upload instead
      else url.searchParams.set('from', source.upstreamName);
    }
    return forward(original, target, `${match[2]}/${match[3]}`, url.search, 'pull,push');
  };

  const browser = (request: IRequest) => {
    if (options.browserRedirect === false) return undefined;
    const path = new URL(request.url).pathname;
    const target = path === '/' ? options.browserRedirect : options.browserRedirect.replace(/\/$/, '') + path;
    return new Response(null, { status: 307, headers: { location: target } });
  };

  const token = (_request: IRequest, original: Request) =>
    context.clientAuth ? handleProxyTokenRequest(context, original) : handleTokenRequest(context, original);

  router
    .get('/v2', ping)
    .head('/v2', ping)
    .get('/v2/:name+/manifests/:reference', manifest)
    .head('/v2/:name+/manifests/:reference', manifest)
    .get('/v2/:name+/blobs/:digest', byDigest('blobs'))
    .head('/v2/:name+/blobs/:digest', byDigest('blobs'))
    .get('/v2/:name+/tags/list', tags)
    .get('/v2/:name+/referrers/:digest', byDigest('referrers'))
    .all('/v2/*', otherRegistryRequest)
    .get(options.tokenPath, token)
    .post(options.tokenPath, token)
    .get('*', browser);

  return { router, context };
}
