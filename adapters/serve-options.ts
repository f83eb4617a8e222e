import { createRegistryProxy, type FetchHandler } from '../lib/handler.ts';
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
}

/** What every runtime's `serve` resolves to. */
export interface ServerAddress {
  /** e.g. `http://127.0.0.1:8080` */
  url: string;
  hostname: string;
  port: number;
  /** Stops accepting connections, lets in-flight requests finish (up to `drainTimeout`), then resolves. */
  close(): Promise<void>;
}

export interface PreparedServe {
  port: number;
  hostname: string;
  handleSignals: boolean;
  drainTimeout: number;
  fetch: FetchHandler;
}

/** Validates the listening options and builds the (logged) handler, the same way for every runtime. */
export function prepareServe(options: ServeOptions): PreparedServe {
  const { port = 8080, hostname = '0.0.0.0', handleSignals = false, drainTimeout = 30_000, onRequest, handler, ...proxyOptions } =
    options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RegistryProxyOptionsError('port', `must be an integer from 0 to 65535, got ${String(port)}`);
  }
  if (typeof drainTimeout !== 'number' || !Number.isFinite(drainTimeout) || drainTimeout < 0) {
    throw new RegistryProxyOptionsError('drainTimeout', `must be a number of milliseconds >= 0, got ${String(drainTimeout)}`);
  }
  let fetch = handler ?? createRegistryProxy(proxyOptions);
  if (onRequest) fetch = withRequestLog(fetch, onRequest);
  return { port, hostname, handleSignals, drainTimeout, fetch };
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
