import { createRegistryProxy, isRegistryProxy, type FetchHandler } from '../lib/handler.ts';
import { RegistryProxyOptionsError } from '../lib/options/error.ts';
import type { RegistryProxyOptions, ServeOptions, ServerAddress } from '../lib/options/types.ts';
import { withRequestLog } from '../lib/request-log.ts';
import { cacheOptionsFor } from './cache/store-spec.ts';

export type { ServeCacheOptions, ServeOptions, ServerAddress } from '../lib/options/types.ts';

export interface PreparedServe {
  port: number;
  hostname: string;
  handleSignals: boolean;
  drainTimeout: number;
  fetch: FetchHandler;
  /** The metrics listener: where and what it serves; undefined when off. */
  metrics: { port: number; hostname: string; fetch: (request: Request) => Promise<Response> } | undefined;
  /** Makes `/readyz` fail: the first step of a shutdown. */
  drain: () => void;
}

/** Validates the listening options and builds the (logged) handler, the same way for every runtime. */
export function prepareServe(options: ServeOptions): PreparedServe {
  const {
    port = 8080,
    hostname = '0.0.0.0',
    handleSignals = false,
    drainTimeout = 30_000,
    onRequest,
    handler,
    metricsPort,
    metricsHostname = hostname,
    cache,
    ...rest
  } = options;
  const proxyOptions: RegistryProxyOptions = { ...rest, cache: cacheOptionsFor(cache) };
  for (const [option, value] of [['port', port], ['metricsPort', metricsPort ?? 0]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 65535) {
      throw new RegistryProxyOptionsError(option, `must be an integer from 0 to 65535, got ${String(value)}`);
    }
  }
  if (typeof drainTimeout !== 'number' || !Number.isFinite(drainTimeout) || drainTimeout < 0) {
    throw new RegistryProxyOptionsError('drainTimeout', `must be a number of milliseconds >= 0, got ${String(drainTimeout)}`);
  }
  const proxy = handler ?? createRegistryProxy({ ...proxyOptions, metrics: proxyOptions.metrics ?? metricsPort !== undefined });
  const operations = isRegistryProxy(proxy) ? proxy : undefined;
  if (metricsPort !== undefined && !operations) {
    throw new RegistryProxyOptionsError('metricsPort', 'needs the proxy itself as `handler` (a function from createRegistryProxy), which serves the metrics');
  }
  let fetch: FetchHandler = proxy;
  if (onRequest) fetch = withRequestLog(fetch, onRequest);
  return {
    port,
    hostname,
    handleSignals,
    drainTimeout,
    fetch,
    metrics: metricsPort === undefined ? undefined : { port: metricsPort, hostname: metricsHostname, fetch: operations!.operations },
    drain: () => operations?.drain(),
  };
}

/** What every runtime's `serve` resolves to, from where the main and metrics listeners ended up. */
export function serverAddress(
  main: { hostname: string; port: number },
  metrics: { hostname: string; port: number } | undefined,
  close: () => Promise<void>,
): ServerAddress {
  return {
    url: formatUrl(main.hostname, main.port),
    hostname: main.hostname,
    port: main.port,
    ...(metrics ? { metricsUrl: formatUrl(metrics.hostname, metrics.port) } : {}),
    close,
  };
}

/** `http://host:port`, with IPv6 addresses bracketed. */
export function formatUrl(hostname: string, port: number): string {
  return `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
}

/** Resolves when `promise` settles or `ms` pass, whichever is first (shutdown must not hang). */
export function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}
