import { IttyRouter } from 'itty-router';
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

/**
 * One request as the route handlers see it: the caller's Request (never written to), its URL
 * parsed once, and the route's path parameters (raw, still percent-encoded).
 */
interface RoutedRequest {
  request: Request;
  url: URL;
  params: Record<string, string | undefined>;
}

type RouteHandler = (routed: RoutedRequest) => Promise<Response | undefined> | Response | undefined;

/** Answers a request, or `undefined` when no route takes it. */
export type RegistryRouter = (request: Request) => Promise<Response | undefined>;

/** The router of the registry API; `context` is built here unless the caller (the operations layer) built it. */
export function buildRouter(options: ResolvedOptions, context: ProxyContext = createContext(options)): RegistryRouter {
  const hostOf = (request: Request, url: URL) => requestHost(request, url, options.trustForwardedHeaders);

  /** Validates the name, picks the upstream, maps the name, and applies rules and client auth. */
  const resolveTarget = async ({ request: original, url }: RoutedRequest, name: string | undefined, action: Action, tag?: string): Promise<Target> => {
    const clientName = checkName(name);
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
      isManifest: rest.startsWith('manifests/'),
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

  const pingHeaders: HeadersInit = { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' };
  const ping = async ({ request: original, url }: RoutedRequest) => {
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
      new Response(original.method === 'HEAD' ? null : '{}', { headers: pingHeaders });
    // Nothing for the client to do upstream: the proxy authenticates there itself. Other
    // methods get what distribution gives them (200), without going upstream.
    const isRead = original.method === 'GET' || original.method === 'HEAD';
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

  const manifest = async (routed: RoutedRequest) => {
    const { params } = routed;
    const reference = params.reference!;
    if (!isValidReference(reference)) {
      checkName(params.name);
      // A reference that is neither a tag nor a digest names no manifest (OCI conformance:
      // 404 MANIFEST_UNKNOWN); an impossible digest is a bad digest, as for blobs.
      throw hasDigestShape(reference)
        ? ociError('digestInvalid', 'invalid digest', { digest: reference.slice(0, 300) })
        : ociError('manifestUnknown', 'manifest unknown: the reference is neither a tag nor a digest', { reference: reference.slice(0, 300) });
    }
    const target = await resolveTarget(routed, params.name, 'pull', reference.includes(':') ? undefined : reference);
    return pull(routed.request, target, 'manifests', reference);
  };

  const byDigest = (kind: 'blobs' | 'referrers') => async (routed: RoutedRequest) => {
    const { params } = routed;
    const digest = params.digest!;
    if (!isValidDigest(digest)) {
      checkName(params.name);
      if (hasDigestShape(digest)) throw ociError('digestInvalid', 'invalid digest', { digest: digest.slice(0, 300) });
      throw kind === 'blobs'
        ? ociError('blobUnknown', 'blob unknown: not a digest', { digest: digest.slice(0, 300) })
        : ociError('notFound', 'not a digest', { digest: digest.slice(0, 300) });
    }
    const target = await resolveTarget(routed, params.name, 'pull');
    const response = await pull(routed.request, target, kind, digest);
    // A followed CDN redirect ends at a host that knows nothing of digests; the spec says the
    // registry MUST send it, and the path names it.
    if (kind === 'blobs' && response.ok && !response.headers.has('docker-content-digest')) {
      response.headers.set('docker-content-digest', digest);
    }
    return response;
  };

  const tags = async (routed: RoutedRequest) => {
    const target = await resolveTarget(routed, routed.params.name, 'pull');
    const response = await pull(routed.request, target, 'tags', '');
    const { route, names } = target.routeContext;
    const canonical = names.canonical(target.clientName)!;
    return rewriteTagList(response, target.clientName, route.access.active ? (tag) => route.access.allowsTag(canonical, tag) : undefined, options.idleTimeout);
  };

  const otherRegistryRequest = async (routed: RoutedRequest) => {
    const { request: original } = routed;
    const isRead = original.method === 'GET' || original.method === 'HEAD';
    const { pathname } = routed.url;
    const path = isRead ? undefined : parseRegistryPath(pathname);
    const write = path?.kind === 'manifests' || path?.kind === 'blobs' ? path : undefined;
    if (!write) {
      // Endpoints that only read answer other methods with 405, as distribution does.
      if (path && (path.kind === 'tags' ? path.rest === 'list' : !path.rest.includes('/'))) {
        throw ociError('unsupported', `${original.method} is not supported on this endpoint`, null, { allow: 'GET, HEAD' });
      }
      throw ociError('notFound', pathname === '/v2/_catalog' ? 'the catalog is not served by the proxy' : 'this registry API endpoint is not served by the proxy');
    }
    // A manifest PUT/DELETE by tag writes that tag: tag rules apply to it as they do to pulls.
    const tag = write.kind === 'manifests' && !write.rest.includes(':') ? write.rest : undefined;
    const target = await resolveTarget(routed, write.name, 'push', tag);
    const url = new URL(routed.url);
    url.searchParams.delete('ns');
    const from = url.searchParams.get('from');
    if (from !== null) {
      // A cross-repository mount reads its source: the client must be allowed to pull it, and
      // the upstream knows it by its own name (`?mount=<digest>&from=<name>`).
      const source = await resolveTarget(routed, from, 'pull');
      if (source.routeContext !== target.routeContext) url.searchParams.delete('from'); // cannot mount across upstreams: upload instead
      else url.searchParams.set('from', source.upstreamName);
    }
    return forward(original, target, `${write.kind}/${write.rest}`, url.search, 'pull,push');
  };

  const browser = ({ url }: RoutedRequest) => {
    if (options.browserRedirect === false) return undefined;
    const path = url.pathname;
    const target = path === '/' ? options.browserRedirect : options.browserRedirect.replace(/\/$/, '') + path;
    return new Response(null, { status: 307, headers: { location: target } });
  };

  const token = ({ request }: RoutedRequest) => (context.clientAuth ? handleProxyTokenRequest(context, request) : handleTokenRequest(context, request));

  // itty-router compiles the patterns; the dispatch below is ours, because itty's own `fetch`
  // writes `params`, `query` and `route` onto the Request it is given (an embedding app's, which
  // may run itty-router itself) and parses its URL again.
  // (Typed `never`: itty never calls these handlers; the dispatch does, with a RoutedRequest.)
  const { routes } = IttyRouter<never, []>()
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
    .get('*', browser) as unknown as { routes: [method: string, pattern: RegExp, handlers: RouteHandler[], path: string][] };

  return async (request) => {
    const url = new URL(request.url);
    const { method } = request;
    for (const [routeMethod, pattern, handlers] of routes) {
      if (routeMethod !== method && routeMethod !== 'ALL') continue;
      const match = pattern.exec(url.pathname);
      if (match === null) continue;
      const routed: RoutedRequest = { request, url, params: match.groups ?? {} };
      for (const handler of handlers) {
        const response = await handler(routed);
        if (response !== undefined) return response;
      }
    }
    return undefined;
  };
}
