import { createRegistryProxy, isRegistryProxy, type FetchHandler } from '../lib/handler.ts';
import { RegistryProxyOptionsError } from '../lib/options/error.ts';
import type { RegistryProxyOptions } from '../lib/options/types.ts';
import { withRequestLog, type RequestLogEntry } from '../lib/request-log.ts';

/** What every runtime's `serve(options)` takes: the proxy's options plus where and how to listen. */
export interface ServeOptions extends RegistryProxyOptions {
  /** `0` picks a free port. @default 8080 */
  port?: number;
  /** @default '0.0.0.0' */
  hostname?: string;
  /** Drain and exit on SIGTERM / SIGINT (what a CLI and Cloud Run want). @default false */
  handleSignals?: boolean;
  /** How long shutdown waits for in-flight pulls before closing their connections. @default 30000 */
  drainTimeout?: number;
  /** Called once per request when its response starts. */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Serve this handler instead of a new proxy built from the options. */
  handler?: FetchHandler;
  /**
   * Serve `/metrics`, `/healthz` and `/readyz` on a second listener at this port (`0` picks one),
   * so the public registry domain never exposes them. Turns `metrics` on unless it is `false`.
   * @default off
   */
  metricsPort?: number;
  /** Where the metrics listener listens. @default the `hostname` */
  metricsHostname?: string;
}

/** What every runtime's `serve` resolves to. */
export interface ServerAddress {
  /** e.g. `http://127.0.0.1:8080` */
  url: string;
  hostname: string;
  port: number;
  /** The metrics listener's URL (`http://127.0.0.1:9090`), when `metricsPort` is set. */
  metricsUrl?: string;
  /**
   * Fails `/readyz`, stops accepting connections, lets in-flight requests finish (up to
   * `drainTimeout`), closes the metrics listener last, then resolves.
   */
  close(): Promise<void>;
}

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
    ...proxyOptions
  } = options;
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
