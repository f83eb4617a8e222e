import type { ReadinessReport } from './health/readiness.ts';
import type { ExpositionFormat } from './metrics/exposition.ts';
import type { MetricsCollector } from './metrics/registry.ts';
import { Operations } from './operations/operations.ts';
import { isOciError, ociError } from './protocol/errors.ts';
import { resolveOptions } from './options/resolve.ts';
import type { FetchHandler, RegistryProxyOptions } from './options/types.ts';
import { createContext } from './context.ts';
import { buildRouter } from './routes.ts';

export type { ClientInfo, FetchHandler } from './options/types.ts';
/** The proxy: a fetch handler, with its operations endpoints and metrics beside it. */
export interface RegistryProxy extends FetchHandler {
  /** The metrics in Prometheus' text format (0.0.4) or OpenMetrics, for an app that serves them itself. */
  metrics(format?: ExpositionFormat): string;
  /** Serves `/metrics` (content-negotiated), `/healthz` and `/readyz`: mount it where the public cannot reach it. */
  operations: (request: Request) => Promise<Response>;
  /** What `/readyz` answers. */
  ready(): Promise<ReadinessReport>;
  /** Marks the proxy as shutting down: `/readyz` fails from now on, so load balancers stop sending requests. */
  drain(): void;
  /** Adds metric families reported at each scrape (the cache's `registry_proxy_cache_*`). */
  registerCollector(collector: MetricsCollector): void;
}

/**
 * Creates the proxy. Options are validated here, once: a bad value throws a
 * `RegistryProxyOptionsError` naming the option.
 *
 * @example
 * const proxy = createRegistryProxy({ upstream: 'us-docker.pkg.dev', repositoryPrefix: 'my-project/images' });
 * serve(proxy); // e.g. the Deno or Bun serve function
 */
export function createRegistryProxy(options: RegistryProxyOptions = {}): RegistryProxy {
  const resolved = resolveOptions(options);
  const operations = new Operations(resolved);
  // Each route's upstream exchanges get the operations layer's observer (tracing, metrics, concurrency cap).
  const context = createContext(resolved, operations.observerOf);
  const route = buildRouter(resolved, context);
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

  const handle = async (request: Request): Promise<Response> => {
    try {
      const response = await route(request);
      return response ? uncacheableChallenge(response) : ociError('notFound', 'not found').toResponse();
    } catch (error) {
      if (isOciError(error)) {
        // Upstream failures are the operator's business too; client mistakes (4xx) are not.
        if (error.status >= 500) resolved.onError(error, request);
        return uncacheableChallenge(error.toResponse());
      }
      // A runtime may hand over a request whose URL does not parse (a `Host: a b` header): the
      // client's mistake, answered as one rather than logged as a proxy failure.
      if (!URL.canParse(request.url)) return ociError('requestTargetInvalid', 'the request URL (its Host header) is not valid').toResponse();
      if (!request.signal.aborted) resolved.onError(error, request);
      return ociError('unknown', 'the proxy failed to handle this request').toResponse();
    }
  };

  return Object.assign(operations.wrap(context, handle), {
    metrics: (format?: ExpositionFormat) => operations.metricsText(format),
    operations: operations.operationsHandler,
    ready: () => operations.ready(),
    drain: () => operations.drain(),
    registerCollector: (collector: MetricsCollector) => operations.registerCollector(collector),
  });
}

/** Whether a handler is a proxy made by `createRegistryProxy` (and so has `operations`, `drain`…). */
export function isRegistryProxy(handler: FetchHandler): handler is RegistryProxy {
  return typeof (handler as Partial<RegistryProxy>).operations === 'function' && typeof (handler as Partial<RegistryProxy>).drain === 'function';
}
