import { IttyRouter, type IRequest } from 'itty-router';
import { authorizeRegistryRequest, proxyChallenge } from './auth/authorization.ts';
import type { Action } from './auth/client-auth.ts';
import { createContext, type ProxyContext, type RouteContext } from './context.ts';
import { requestHost } from './protocol/host.ts';
import { isOciError, ociError } from './protocol/errors.ts';
import { fitsNameLimit } from './protocol/names.ts';
import { parseRegistryPath } from './protocol/paths.ts';
import type { ResolvedOptions } from './options/types.ts';
import { handleProxyTokenRequest } from './auth/token-endpoint.ts';
import { hasDigestShape, isValidDigest, isValidReference, isValidRepositoryName } from './protocol/reference.ts';
import { forwardRegistryRequest } from './upstream/forward.ts';
import type { PullKind } from './cache/registry-cache.ts';
import { rewriteTagList } from './protocol/tag-list.ts';
import { handleTokenRequest } from './upstream/client-token-relay.ts';

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
  // dot segment) fails the name grammar here instead of being decoded into a path trick. Such a
  // name cannot exist: 404, as from distribution, whose routes do not match it.
  if (name === undefined || !isValidRepositoryName(name)) {
    throw ociError('nameUnknown', 'invalid repository name', { name: name?.slice(0, 300) });
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

/** The router of the registry API; `context` is built here unless the caller (the operations layer) built it. */
export function buildRouter(options: ResolvedOptions, context: ProxyContext = createContext(options)) {
  const router = IttyRouter<IRequest, [Request]>();
  const hostOf = (request: Request, url: URL) => requestHost(request, url, options.trustForwardedHeaders);

  /** Validates the name, picks the upstream, maps the name, and applies rules and client auth. */
  const resolveTarget = async (original: Request, name: string | undefined, action: Action, tag?: string): Promise<Target> => {
    const clientName = checkName(name);
    const url = new URL(original.url);
    const ns = url.searchParams.get('ns');
    const routeContext = context.selectRoute(hostOf(original, url), ns, clientName);
    if (!routeContext) throw ociError('nameUnknown', 'no upstream serves this repository', { name: clientName });
    const upstreamName = routeContext.names.toUpstream(clientName)!;
    if (!fitsNameLimit(upstreamName)) {
      throw ociError('nameUnknown', 'repository name too long once the proxy prefix is added', { name: clientName });
    }
    await authorizeRegistryRequest(context, routeContext, original, clientName, action, tag, ns);
    return { routeContext, clientName, upstreamName, url, ns };
  };

  /** Forwards and, when the route was chosen by `ns`, says so as the spec asks (`OCI-Namespace`). */
  const forward = async (original: Request, target: Target, rest: string, search: string, actions: 'pull' | 'pull,push', followRedirects?: boolean) => {
    const response = await forwardRegistryRequest(context, target.routeContext, original, {
      path: `/v2/${target.upstreamName}/${rest}`,
      search,
      scope: `repository:${target.upstreamName}:${actions}`,
      followRedirects,
    });
    if (target.ns !== null && target.routeContext.route.namespaces.length > 0) response.headers.set('oci-namespace', target.ns);
    return response;
  };

  /** An authorized pull: through the cache when the route has one, else straight upstream. */
  const pull = async (original: Request, target: Target, kind: PullKind, reference: string) => {
    const rest = kind === 'tags' ? 'tags/list' : `${kind}/${reference}`;
    const search = upstreamSearch(target.url);
    const { route } = target.routeContext;
    if (!context.cache || !route.cache) return forward(original, target, rest, search, 'pull');
    const response = await context.cache.serve({
      request: original,
      route: { name: route.name, tokenDance: route.tokenDance, cache: route.cache },
      repository: target.upstreamName,
      clientName: target.clientName,
      kind,
      reference,
      search,
      upstream: (request, options) =>
        forward(request, target, options?.reference ? `${kind}/${options.reference}` : rest, search, 'pull', options?.followRedirects),
    });
    // Answers from the cache say which namespace served them, as forwarded ones do.
    if (target.ns !== null && route.namespaces.length > 0) response.headers.set('oci-namespace', target.ns);
    return response;
  };

  const ping = async (request: IRequest, original: Request) => {
    const url = new URL(original.url);
    const ns = url.searchParams.get('ns');
    if (context.clientAuth) {
      // Like Docker Hub: challenge until credentials (or a token) are shown, so clients that
      // have them send them; anonymous clients then get an anonymous token.
      const identity = await context.clientAuth.identifyRequest(original);
      if (!identity || identity.kind === 'anonymous') {
        throw ociError('unauthorized', 'authentication required', null, {
          'www-authenticate': proxyChallenge(context, original, undefined, identity ? undefined : 'invalid_token', ns),
        });
      }
    }
    const routeContext = context.selectRoute(hostOf(original, url), ns, undefined);
    const answerItself = () =>
      new Response(request.method === 'HEAD' ? null : '{}', {
        headers: { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' },
      });
    // Nothing for the client to do upstream: the proxy authenticates there itself. Other
    // methods get what distribution gives them (200), without going upstream.
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    if (!routeContext || routeContext.route.tokenDance === 'proxy' || !isRead) return answerItself();
    // The client does the upstream's dance: its ping shows the upstream's challenge, rewritten.
    try {
      return await forwardRegistryRequest(context, routeContext, original, { path: '/v2/', search: '', scope: '' });
    } catch (error) {
      // Upstream down: cached images still pull, so the ping must not fail them first.
      if (context.cache && routeContext.route.cache && isOciError(error) && error.status >= 502) return answerItself();
      throw error;
    }
  };

  const manifest = async (request: IRequest, original: Request) => {
    const reference = request.params.reference!;
    if (!isValidReference(reference)) {
      checkName(request.params.name);
      // A reference that is neither a tag nor a digest names no manifest (OCI conformance:
      // 404 MANIFEST_UNKNOWN); an impossible digest is a bad digest, as for blobs.
      throw hasDigestShape(reference)
        ? ociError('digestInvalid', 'invalid digest', { digest: reference.slice(0, 300) })
        : ociError('manifestUnknown', 'manifest unknown: the reference is neither a tag nor a digest', { reference: reference.slice(0, 300) });
    }
    const target = await resolveTarget(original, request.params.name, 'pull', reference.includes(':') ? undefined : reference);
    return pull(original, target, 'manifests', reference);
  };

  const byDigest = (kind: 'blobs' | 'referrers') => async (request: IRequest, original: Request) => {
    const digest = request.params.digest!;
    if (!isValidDigest(digest)) {
      checkName(request.params.name);
      if (hasDigestShape(digest)) throw ociError('digestInvalid', 'invalid digest', { digest: digest.slice(0, 300) });
      throw kind === 'blobs'
        ? ociError('blobUnknown', 'blob unknown: not a digest', { digest: digest.slice(0, 300) })
        : ociError('notFound', 'not a digest', { digest: digest.slice(0, 300) });
    }
    const target = await resolveTarget(original, request.params.name, 'pull');
    const response = await pull(original, target, kind, digest);
    // A followed CDN redirect ends at a host that knows nothing of digests; the spec says the
    // registry MUST send it, and the path names it.
    if (kind === 'blobs' && response.ok && !response.headers.has('docker-content-digest')) {
      response.headers.set('docker-content-digest', digest);
    }
    return response;
  };

  const tags = async (request: IRequest, original: Request) => {
    const target = await resolveTarget(original, request.params.name, 'pull');
    const response = await pull(original, target, 'tags', '');
    const { route, names } = target.routeContext;
    const canonical = names.canonical(target.clientName)!;
    return rewriteTagList(response, target.clientName, route.access.active ? (tag) => route.access.allowsTag(canonical, tag) : undefined, options.idleTimeout);
  };

  const otherRegistryRequest = async (request: IRequest, original: Request) => {
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    const pathname = new URL(original.url).pathname;
    const path = isRead ? undefined : parseRegistryPath(pathname);
    const write = path?.kind === 'manifests' || path?.kind === 'blobs' ? path : undefined;
    if (!write) {
      // Endpoints that only read answer other methods with 405, as distribution does.
      if (path && (path.kind === 'tags' ? path.rest === 'list' : !path.rest.includes('/'))) {
        throw ociError('unsupported', `${request.method} is not supported on this endpoint`, null, { allow: 'GET, HEAD' });
      }
      throw ociError('notFound', pathname === '/v2/_catalog' ? 'the catalog is not served by the proxy' : 'this registry API endpoint is not served by the proxy');
    }
    // A manifest PUT/DELETE by tag writes that tag: tag rules apply to it as they do to pulls.
    const tag = write.kind === 'manifests' && !write.rest.includes(':') ? write.rest : undefined;
    const target = await resolveTarget(original, write.name, 'push', tag);
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
    return forward(original, target, `${write.kind}/${write.rest}`, url.search, 'pull,push');
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
    .all('/v2', ping)
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

  return router;
}
