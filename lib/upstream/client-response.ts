import type { ProxyContext, RouteContext } from '../context.ts';
import { publicOrigin } from '../protocol/host.ts';
import { isRewritableErrorBody, MAX_REWRITTEN_ERROR_BYTES, oversizedErrorResponse, rewriteErrorText } from '../protocol/error-body.ts';
import { readCappedText, readWhole } from '../protocol/capped-read.ts';
import { clientResponseHeaders } from '../protocol/headers.ts';
import { hasGuardedBody, relayBody } from './guarded-body.ts';
import { withBodyChecks } from './body-checks.ts';
import { withDeclaredLength } from './declared-length.ts';
import { rewriteLinkHeader, upstreamUrlToClient } from '../protocol/paths.ts';
import { mapScopeList, scopeToClient } from '../protocol/scope.ts';
import { isRedirect } from './fetch.ts';
import { formatChallenge, parseWwwAuthenticate } from '../protocol/www-authenticate.ts';

/**
 * Rewrites the upstream's challenges for the client: a Bearer realm becomes the proxy's token
 * endpoint (remembering the real one), and challenge scopes carry the client's names.
 * containerd merges the challenge scope into its token request, so an unmapped scope would
 * come back double-prefixed.
 */
function rewriteChallenges(value: string, context: ProxyContext, routeContext: RouteContext, request: Request): string {
  const challenges = parseWwwAuthenticate(value);
  for (const challenge of challenges) {
    if (challenge.scheme.toLowerCase() !== 'bearer') continue;
    const realm = challenge.params.get('realm');
    if (realm) {
      try {
        routeContext.tokenRealm.remember(new URL(realm), challenge.params.get('service'));
      } catch {
        // An unparseable realm is replaced all the same; token requests then rediscover it.
      }
      challenge.params.set('realm', publicOrigin(request, context.options.publicUrl, context.options.trustForwardedHeaders) + context.options.tokenPath);
    }
    const scope = challenge.params.get('scope');
    if (scope !== undefined) {
      const mapped = mapScopeList(scope, (item) => scopeToClient(item, routeContext.names));
      if (mapped) challenge.params.set('scope', mapped);
      else challenge.params.delete('scope');
    }
  }
  return challenges.map(formatChallenge).join(', ');
}

/**
 * Manifests up to this size are read whole rather than streamed: no more than the checking
 * stream reads ahead anyway (see body-checks.ts).
 */
const WHOLE_BODY_BYTES = 256 * 1024;

/** Turns an upstream registry response into the client's: names mapped back, body streamed. */
export async function toClientResponse(
  context: ProxyContext,
  routeContext: RouteContext,
  request: Request,
  upstream: Response,
  upstreamUrl: URL,
  isManifest = false,
): Promise<Response> {
  const guarded = hasGuardedBody(upstream);
  const headers = clientResponseHeaders(upstream.headers, !guarded && upstream.body !== null);
  const { names, upstreamOrigin } = routeContext;

  const challenge = headers.get('www-authenticate');
  if (challenge !== null) {
    // With the proxy doing the upstream dance, the upstream's challenge means nothing to clients;
    // a redirect target's challenge is never the upstream's, and its realm is never remembered.
    if (routeContext.route.tokenDance === 'proxy' || upstreamUrl.origin !== upstreamOrigin) headers.delete('www-authenticate');
    else headers.set('www-authenticate', rewriteChallenges(challenge, context, routeContext, request));
  }
  const link = headers.get('link');
  if (link !== null) headers.set('link', rewriteLinkHeader(link, upstreamUrl, upstreamOrigin, names));
  const location = headers.get('location');
  if (location !== null) headers.set('location', upstreamUrlToClient(location, upstreamUrl, upstreamOrigin, names));
  if (isRedirect(upstream)) {
    // Signed redirect targets expire within minutes; a cached redirect breaks later pulls.
    headers.set('cache-control', 'no-store');
  }
  if (!headers.has('docker-distribution-api-version')) headers.set('docker-distribution-api-version', 'registry/2.0');

  const init = { status: upstream.status, statusText: upstream.statusText, headers };
  const isHead = request.method === 'HEAD';
  // First, so that a body the fetch makes only when read (the Node adapter's) is never made.
  if (guarded && !isHead && !isRewritableErrorBody(upstream)) return relayBody(upstream, init);
  if (isHead || upstream.body === null) {
    upstream.body?.cancel().catch(() => {});
    return new Response(null, init);
  }
  if (isRewritableErrorBody(upstream)) {
    const text = await readCappedText(upstream.body, MAX_REWRITTEN_ERROR_BYTES, context.options.idleTimeout, 'error body');
    if (text === undefined) return oversizedErrorResponse(upstream.status, headers);
    const body = rewriteErrorText(text, names);
    headers.set('content-length', String(new TextEncoder().encode(body).byteLength));
    return new Response(body, init);
  }
  const { idleTimeout } = context.options;
  const declared = headers.get('content-length');
  const expectedBytes = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (isManifest && expectedBytes !== undefined && expectedBytes <= WHOLE_BODY_BYTES) {
    // Read whole (checked against its length, under the idle timer) and sent as bytes, which
    // every runtime writes natively: cheaper than a checking stream, for the requests that are
    // most of a registry's traffic. Blobs stream, whatever their size, as they arrive.
    return new Response(await readWhole(upstream.body, expectedBytes, idleTimeout, 'body'), init);
  }
  const body =
    idleTimeout > 0 || expectedBytes !== undefined
      ? withBodyChecks(
          upstream.body,
          idleTimeout,
          (error) => context.options.onError(new Error(`${error.message}: ${upstreamUrl.pathname}`, { cause: error }), request),
          expectedBytes,
        )
      : upstream.body;
  return new Response(expectedBytes === undefined ? body : withDeclaredLength(body, expectedBytes), init);
}
