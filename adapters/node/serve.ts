import { createServer, ServerResponse, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServerAdapter } from '@whatwg-node/server';
import { guardBody } from './guard-body.ts';
import { acceptRequestTarget } from './request-target.ts';
import { createNodeFetch, NODE_BODY, STALLED } from './upstream-fetch.ts';
import { formatUrl, prepareServe, type ServeOptions, type ServerAddress } from '../serve-options.ts';

/** The filesystem cache store (`cache: { store: new FsCacheStore(dir) }`, or just the directory path). */
export { FsCacheStore } from '../cache/fs-store.ts';
export type { ServeOptions, ServerAddress } from '../../lib/options/types.ts';

export type NodeServeOptions = ServeOptions;

export interface NodeServer extends ServerAddress {
  /** The underlying Node server. */
  server: Server;
}

/**
 * Web responses carry no reason phrase (`statusText: ''`), and Node writes the one it is given:
 * `HTTP/1.1 200 `. Deno and Bun write the standard phrase; so does this.
 */
type NodeHeaders = OutgoingHttpHeaders | OutgoingHttpHeader[];

class ReasonPhraseResponse extends ServerResponse<IncomingMessage> {
  override writeHead(statusCode: number, reason?: string | NodeHeaders, headers?: NodeHeaders): this {
    if (typeof reason === 'string' || reason === undefined) {
      return super.writeHead(statusCode, reason || (STATUS_CODES[statusCode] ?? 'Unknown'), headers);
    }
    return super.writeHead(statusCode, STATUS_CODES[statusCode] ?? 'Unknown', reason);
  }
}

/**
 * An upstream body from `createNodeFetch` goes to the client by a plain Node pipe — what
 * @whatwg-node/server does for a Node stream body — with backpressure and without a web-stream
 * hop per chunk. An upstream failure mid-body resets the client's connection, so a cut blob is
 * never taken for a whole one; a client that goes away destroys the upstream message.
 */
function pipedNodeBody(
  response: Response,
  nodeResponse: ServerResponse | undefined,
  request: Request,
  onError: ((error: unknown, request: Request) => void) | undefined,
): Response | undefined {
  const body = response.body as (ReadableStream<Uint8Array> & { [NODE_BODY]?: IncomingMessage }) | null;
  const message = body?.[NODE_BODY];
  if (!message || !nodeResponse || body!.locked) return undefined;
  message.once('error', (error) => {
    // The upstream broke off (stalled, reset, ended short) while the client was still there:
    // the operator hears of it, as lib's own body checks report it on the other runtimes.
    if (!nodeResponse.destroyed && !nodeResponse.writableFinished) {
      const stalledMs = (message as IncomingMessage & { [STALLED]?: number })[STALLED];
      const reason = stalledMs !== undefined ? `stalled for ${stalledMs} ms` : `failed: ${error.message}`;
      onError?.(new Error(`upstream body ${reason}: ${(message as IncomingMessage & { req?: { path?: string } }).req?.path ?? ''}`, { cause: error }), request);
    }
    nodeResponse.destroy(error);
  });
  // TLS delivers 16 KiB records, often several per socket read: cork the client socket for the
  // rest of the tick so they leave in one writev instead of one syscall each.
  let corked = false;
  message.prependListener('data', () => {
    if (corked) return;
    corked = true;
    nodeResponse.cork();
    process.nextTick(() => {
      corked = false;
      nodeResponse.uncork();
    });
  });
  return { status: response.status, statusText: response.statusText, headers: response.headers, body: message } as unknown as Response;
}

/** Serves the proxy on `node:http`, with a keep-alive `node:http(s)` client for the upstream unless `fetch` is given. */
export async function serve(options: NodeServeOptions = {}): Promise<NodeServer> {
  const { port, hostname, handleSignals, drainTimeout, fetch: fetchHandler, metrics, drain } = prepareServe({
    ...options,
    fetch: options.fetch ?? createNodeFetch({ idleTimeout: options.timeouts?.idle }),
  });

  const adapter = createServerAdapter<{ req?: IncomingMessage; res?: ServerResponse }>(async (request, context) => {
    const response = await fetchHandler(request, { clientAddress: context.req?.socket.remoteAddress });
    return pipedNodeBody(response, context.res, request, options.onError) ?? guardBody(response, request, context.res);
  });
  const server = createServer({ ServerResponse: ReasonPhraseResponse }, (req, res) => {
    if (acceptRequestTarget(req, res)) void adapter(req, res);
  });
  // Slow blob streams are normal: only bound the time to receive a request's headers.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;

  await listen(server, port, hostname);
  const address = server.address() as AddressInfo;
  // The operations listener (/metrics, /healthz, /readyz) stays up through the drain, so probes see /readyz fail.
  const metricsServer = metrics ? createServer(createServerAdapter(metrics.fetch)) : undefined;
  if (metricsServer) {
    try {
      await listen(metricsServer, metrics!.port, metrics!.hostname);
    } catch (error) {
      server.close();
      throw error;
    }
    server.once('close', () => {
      metricsServer.closeAllConnections();
      metricsServer.close();
    });
  }
  const metricsAddress = metricsServer?.address() as AddressInfo | undefined;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      drain();
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

  return {
    url: formatUrl(address.address, address.port),
    hostname: address.address,
    port: address.port,
    ...(metricsAddress ? { metricsUrl: formatUrl(metricsAddress.address, metricsAddress.port) } : {}),
    server,
    close,
  };
}

function listen(server: Server, port: number, hostname: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
