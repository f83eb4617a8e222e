import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServerAdapter } from '@whatwg-node/server';
import { createRegistryProxy, type FetchHandler } from '../lib/handler.ts';
import type { RegistryProxyOptions } from '../lib/options.ts';
import { RegistryProxyOptionsError } from '../lib/options.ts';
import { withRequestLog, type RequestLogEntry } from '../lib/request-log.ts';
import { guardBody } from './node-body.ts';

export interface NodeServeOptions extends RegistryProxyOptions {
  /** @default 8080 */
  port?: number;
  /** @default '0.0.0.0' */
  hostname?: string;
  /** Drain and exit on SIGTERM / SIGINT (what the CLI and Cloud Run want). @default false */
  handleSignals?: boolean;
  /** How long shutdown waits for in-flight pulls before closing their connections. @default 30000 */
  drainTimeout?: number;
  /** Called once per request when its response starts. */
  onRequest?: (entry: RequestLogEntry) => void;
  /** Serve this handler instead of a new proxy built from the options. */
  handler?: FetchHandler;
}

export interface RunningServer {
  /** e.g. `http://127.0.0.1:8080` */
  url: string;
  hostname: string;
  port: number;
  /** The underlying Node server. */
  server: Server;
  /** Stops accepting connections, lets in-flight requests finish (up to `drainTimeout`), then resolves. */
  close(): Promise<void>;
}

/** Serves the proxy on `node:http`. */
export async function serve(options: NodeServeOptions = {}): Promise<RunningServer> {
  const { port = 8080, hostname = '0.0.0.0', handleSignals = false, drainTimeout = 30_000, onRequest, handler, ...proxyOptions } =
    options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RegistryProxyOptionsError('port', `must be an integer from 0 to 65535, got ${String(port)}`);
  }
  let fetchHandler = handler ?? createRegistryProxy(proxyOptions);
  if (onRequest) fetchHandler = withRequestLog(fetchHandler, onRequest);

  const server = createServer(
    createServerAdapter<{ res?: ServerResponse }>(async (request, context) =>
      guardBody(await fetchHandler(request), request, context.res),
    ),
  );
  // Slow blob streams are normal: only bound the time to receive a request's headers.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), drainTimeout);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      // Keep-alive connections with no request in flight would otherwise hold close() open,
      // and a connection whose pull finishes during the drain goes idle without being closed.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      sweep.unref();
      server.once('close', () => clearInterval(sweep));
    }));

  if (handleSignals) {
    const onSignal = () => {
      void close().then(() => process.exit(0));
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    server.once('close', () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    });
  }

  return { url: `http://${urlHost}:${address.port}`, hostname: address.address, port: address.port, server, close };
}
