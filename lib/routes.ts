import { IttyRouter, type IRequest } from 'itty-router';
import { createContext, type ProxyContext } from './context.ts';
import { OciError, ociErrorResponse } from './errors.ts';
import { fitsNameLimit } from './names.ts';
import type { ResolvedOptions } from './options.ts';
import { isValidDigest, isValidReference, isValidRepositoryName } from './reference.ts';
import { forwardRegistryRequest } from './registry-api.ts';
import { handleTokenRequest } from './token-endpoint.ts';
import { toClientResponse } from './client-response.ts';
import { upstreamRequestHeaders } from './headers.ts';
import { fetchUpstream } from './upstream-fetch.ts';

const WRITE_PATH = /^\/v2\/(.+)\/(manifests|blobs)\/(.*)$/;

/** Validates a client's repository name and maps it upstream; refuses before anything is sent. */
function upstreamNameFor(context: ProxyContext, name: string | undefined): string {
  // itty-router hands us the raw path segment: anything percent-encoded (an encoded slash, a
  // dot segment) fails the name grammar here instead of being decoded into a path trick.
  if (name === undefined || !isValidRepositoryName(name)) {
    throw new OciError(400, 'NAME_INVALID', 'invalid repository name', { name: name?.slice(0, 300) });
  }
  const upstreamName = context.names.toUpstream(name);
  if (!fitsNameLimit(upstreamName)) {
    throw new OciError(400, 'NAME_INVALID', 'repository name too long once the proxy prefix is added', { name });
  }
  return upstreamName;
}

function searchOf(request: Request): string {
  const index = request.url.indexOf('?');
  return index === -1 ? '' : request.url.slice(index);
}

export function buildRouter(options: ResolvedOptions) {
  const context = createContext(options);
  const router = IttyRouter<IRequest, [Request]>();

  const ping = async (request: IRequest, original: Request) => {
    if (context.authenticator) {
      // The proxy authenticates upstream itself, so clients are never challenged.
      return new Response(request.method === 'HEAD' ? null : '{}', {
        headers: { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' },
      });
    }
    const url = new URL('/v2/', options.upstream);
    const headers = upstreamRequestHeaders(original.headers);
    const authorization = original.headers.get('authorization');
    if (authorization !== null) headers.set('authorization', authorization);
    const response = await fetchUpstream(options, url, { method: original.method, headers, signal: original.signal });
    return toClientResponse(context, original, response, url);
  };

  const manifest = (request: IRequest, original: Request) => {
    const upstreamName = upstreamNameFor(context, request.params.name);
    const reference = request.params.reference!;
    if (!isValidReference(reference)) {
      throw reference.includes(':')
        ? new OciError(400, 'DIGEST_INVALID', 'invalid digest', { digest: reference.slice(0, 300) })
        : new OciError(400, 'TAG_INVALID', 'invalid tag', { tag: reference.slice(0, 300) });
    }
    return forwardRegistryRequest(context, original, {
      upstreamName,
      rest: `manifests/${reference}`,
      search: searchOf(original),
      actions: 'pull',
    });
  };

  const byDigest = (kind: 'blobs' | 'referrers') => (request: IRequest, original: Request) => {
    const upstreamName = upstreamNameFor(context, request.params.name);
    const digest = request.params.digest!;
    if (!isValidDigest(digest)) {
      throw new OciError(400, 'DIGEST_INVALID', 'invalid digest', { digest: digest.slice(0, 300) });
    }
    return forwardRegistryRequest(context, original, {
      upstreamName,
      rest: `${kind}/${digest}`,
      search: searchOf(original),
      actions: 'pull',
    });
  };

  const tags = (request: IRequest, original: Request) =>
    forwardRegistryRequest(context, original, {
      upstreamName: upstreamNameFor(context, request.params.name),
      rest: 'tags/list',
      search: searchOf(original),
      actions: 'pull',
    });

  const otherRegistryRequest = (request: IRequest, original: Request) => {
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    if (isRead || options.readOnly) {
      return isRead
        ? ociErrorResponse(404, 'UNSUPPORTED', 'this registry API endpoint is not served by the proxy')
        : ociErrorResponse(405, 'UNSUPPORTED', 'this registry proxy is read-only', null, { allow: 'GET, HEAD' });
    }
    const match = WRITE_PATH.exec(new URL(original.url).pathname);
    if (!match) return ociErrorResponse(404, 'UNSUPPORTED', 'this registry API endpoint is not served by the proxy');
    const upstreamName = upstreamNameFor(context, match[1]);
    const url = new URL(original.url);
    const from = url.searchParams.get('from');
    // A cross-repository mount names its source repository too (`?mount=<digest>&from=<name>`).
    if (from !== null) url.searchParams.set('from', upstreamNameFor(context, from));
    return forwardRegistryRequest(context, original, {
      upstreamName,
      rest: `${match[2]}/${match[3]}`,
      search: url.search,
      actions: 'pull,push',
    });
  };

  const browser = (request: IRequest) => {
    if (options.browserRedirect === false) return undefined;
    const path = new URL(request.url).pathname;
    const target = path === '/' ? options.browserRedirect : options.browserRedirect.replace(/\/$/, '') + path;
    return new Response(null, { status: 307, headers: { location: target } });
  };

  const token = (_request: IRequest, original: Request) => handleTokenRequest(context, original);

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
