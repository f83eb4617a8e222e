import { isOciError, ociError } from './protocol/errors.ts';
import { resolveOptions } from './options/resolve.ts';
import type { FetchHandler, RegistryProxyOptions } from './options/types.ts';
import { buildRouter } from './routes.ts';

export type { FetchHandler } from './options/types.ts';

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
  const router = buildRouter(resolved);

  return async (request) => {
    try {
      const response = await router.fetch(request as never, request);
      return response ?? ociError('notFound', 'not found').toResponse();
    } catch (error) {
      if (isOciError(error)) {
        // Upstream failures are the operator's business too; client mistakes (4xx) are not.
        if (error.status >= 500) resolved.onError(error, request);
        return error.toResponse();
      }
      if (!request.signal.aborted) resolved.onError(error, request);
      return ociError('unknown', 'the proxy failed to handle this request').toResponse();
    }
  };
}
