import { toClientResponse } from './client-response.ts';
import type { ProxyContext, RouteContext } from '../context.ts';
import { ociError } from '../protocol/errors.ts';
import { upstreamRequestHeaders } from '../protocol/headers.ts';
import { discardBody, fetchUpstream, isRedirect } from './fetch.ts';

/** Most redirect chains seen in the wild are one hop (CDN) or two (registry.k8s.io → AR → GCS). */
const MAX_REDIRECTS = 5;

interface ForwardedRequest {
  /** The upstream path, names already mapped and validated: `/v2/`, `/v2/<name>/manifests/latest`. */
  path: string;
  /** Query string to send upstream, including its `?`, or ''. */
  search: string;
  /** The token scope the upstream request needs when the proxy authenticates itself. */
  scope: string;
  /** Follow redirects whatever the route's policy (the cache fills blobs from CDNs). */
  followRedirects?: boolean;
  /** A manifest: its body may be read whole (see toClientResponse). */
  isManifest?: boolean;
}

/**
 * Sends a registry API request upstream and returns the upstream's response as the client
 * should see it: authenticated with the client's own `Authorization` (`tokenDance: 'client'`)
 * or by the proxy (`'proxy'`), redirects passed or followed per policy, names mapped back.
 */
export async function forwardRegistryRequest(
  context: ProxyContext,
  routeContext: RouteContext,
  request: Request,
  forwarded: ForwardedRequest,
): Promise<Response> {
  const url = new URL(forwarded.path + forwarded.search, routeContext.route.upstream);
  const headers = upstreamRequestHeaders(request.headers);
  const body = request.method === 'GET' || request.method === 'HEAD' ? null : request.body;
  const { authenticator } = routeContext;
  const authorization = authenticator ? await authenticator.authorization(forwarded.scope) : request.headers.get('authorization');
  if (authorization) headers.set('authorization', authorization);

  const follow = forwarded.followRedirects === true || routeContext.route.redirects === 'follow';
  let { response, url: finalUrl } = await exchange(routeContext, follow, request, url, headers, body);
  refuseForeignChallenge(response, finalUrl, routeContext);
  // Retry once when the proxy authenticates: the token expired early, or the repository needs a
  // scheme the ping did not show. A streamed request body cannot be replayed, so pushes are not.
  if (authenticator && response.status === 401 && body === null && authenticator.learn(response)) {
    discardBody(response);
    authenticator.invalidate(forwarded.scope);
    const renewed = await authenticator.authorization(forwarded.scope);
    if (renewed) headers.set('authorization', renewed);
    ({ response, url: finalUrl } = await exchange(routeContext, follow, request, url, headers, body));
    refuseForeignChallenge(response, finalUrl, routeContext);
  }
  return toClientResponse(context, routeContext, request, response, finalUrl, forwarded.isManifest === true);
}

/**
 * A 401 from a redirect target (another origin: a CDN, or whoever the upstream pointed at) is
 * not the upstream asking for credentials. Its challenge is never learned, remembered or passed
 * on — that would send the proxy's or the client's credentials to a realm the upstream never
 * announced — and the client gets a 502 naming the target's status.
 */
function refuseForeignChallenge(response: Response, finalUrl: URL, routeContext: RouteContext): void {
  if (response.status !== 401 || finalUrl.origin === routeContext.upstreamOrigin) return;
  discardBody(response);
  throw ociError('upstreamInvalid', `the upstream's redirect target ${finalUrl.host} answered 401`, { status: 401 });
}

/** One request, with redirects followed or not. Returns the final response and its URL. */
async function exchange(
  routeContext: RouteContext,
  follow: boolean,
  request: Request,
  url: URL,
  headers: Headers,
  body: ReadableStream<Uint8Array> | null,
): Promise<{ response: Response; url: URL }> {
  const { settings } = routeContext;
  let response = await fetchUpstream(settings, url, { method: request.method, headers, body, client: request });
  if (!follow || body !== null) return { response, url };

  let current = url;
  let hopHeaders = headers;
  for (let hop = 0; isRedirect(response); hop++) {
    if (hop === MAX_REDIRECTS) {
      discardBody(response);
      throw ociError('upstreamInvalid', `upstream redirected more than ${MAX_REDIRECTS} times`);
    }
    const next = new URL(response.headers.get('location')!, current);
    discardBody(response);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') {
      throw ociError('upstreamInvalid', 'upstream redirected to a non-HTTP location');
    }
    if (next.origin !== current.origin && hopHeaders.has('authorization')) {
      // Never hand a registry credential to another host: signed CDN URLs reject it (S3 400),
      // and it would leak the token to a third party.
      hopHeaders = new Headers(hopHeaders);
      hopHeaders.delete('authorization');
    }
    current = next;
    response = await fetchUpstream(settings, current, { method: request.method, headers: hopHeaders, client: request });
  }
  return { response, url: current };
}
