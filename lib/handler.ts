import { isOciError, ociErrorResponse } from './protocol/errors.ts';
import { resolveOptions } from './options/resolve.ts';
import type { RegistryProxyOptions } from './options/types.ts';
import { buildRouter } from './routes.ts';

/** A fetch handler: what the serve functions of Deno and Bun, Workers and Hono all take. */
export type FetchHandler = (request: Request) => Promise<Response>;

/**
 * Creates the proxy. Options are validated here, once: a bad value throws a
 * `RegistryProxyOptionsError` naming the option.
 *
 * @example
 * const proxy = createRegistryProxy({ upstream: 'us-docker.pkg.dev', repositoryPrefix: 'my-project/images' });
 * serve(proxy); // e.g. the Deno or Bun serve function
 */
export function createRegistryProxy(options: RegistryProxyOptions = {}): FetchHandler {
  const resolved = resolveOptions(options);
  const { router } = buildRouter(resolved);
  // A challenge's realm is built from the request's host (and forwarded headers when trusted),
  // and whether one is sent at all depends on the credentials shown.
  const challengeVary =
    resolved.trustForwardedHeaders && !resolved.publicUrl ? 'Host, Authorization, X-Forwarded-Host, X-Forwarded-Proto' : 'Host, Authorization';
  const uncacheableChallenge = (response: Response): Response => {
    if (response.status === 401 && response.headers.has('www-authenticate')) {
      response.headers.set('cache-control', 'no-store');
      response.headers.append('vary', challengeVary);
    }
    return response;
  };

  return async (request) => {
    try {
      const response = await router.fetch(request as never, request);
      return response ? uncacheableChallenge(response) : ociErrorResponse(404, 'NOT_FOUND', 'not found');
    } catch (error) {
      if (isOciError(error)) {
        // Upstream failures are the operator's business too; client mistakes (4xx) are not.
        if (error.status >= 500) resolved.onError(error, request);
        return uncacheableChallenge(error.toResponse());
      }
      // A runtime may hand over a request whose URL does not parse (a `Host: a b` header): the
      // client's mistake, answered as one rather than logged as a proxy failure.
      if (!URL.canParse(request.url)) return ociErrorResponse(400, 'UNSUPPORTED', 'the request URL (its Host header) is not valid');
      if (!request.signal.aborted) resolved.onError(error, request);
      return ociErrorResponse(500, 'UNKNOWN', 'the proxy failed to handle this request');
    }
  };
}
