/**
 * A recording HTTP tap: put it between a client (skopeo) and the proxy to see every response
 * the proxy sends — status, headers, and the start of each body — without touching either.
 * The `Host` header is passed through unchanged, so the proxy sees the tap's address as its own
 * public address (realms it builds point back at the tap, and the client keeps going through it).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Exchange {
  method: string;
  /** Path and query as the client sent them. */
  path: string;
  requestHeaders: IncomingHttpHeaders;
  status: number;
  /** Raw response header lines, `name: value`. */
  responseHeaders: string[];
  /** The first `maxBody` bytes of the response body. */
  body: Buffer;
  /** Total response body length seen. */
  bodyLength: number;
  error?: string;
}

export interface Recorder {
  url: string;
  host: string;
  exchanges: Exchange[];
  reset(): void;
  /** Every recorded response rendered as text (status line, headers, body prefix). */
  transcript(): string;
  stop(): Promise<void>;
}

export interface RecorderOptions {
  /** Bytes of each response body to keep. @default 65536 */
  maxBody?: number;
  /**
   * Answer some requests with a redirect instead of forwarding them (an upstream that sends
   * blob downloads to a CDN): return the `Location`, or undefined to forward.
   */
  redirect?: (method: string, path: string) => string | undefined;
  /** Status for `redirect`. @default 307 */
  redirectStatus?: number;
}

export async function startRecorder(target: string, options: RecorderOptions = {}): Promise<Recorder> {
  const targetUrl = new URL(target);
  const maxBody = options.maxBody ?? 64 * 1024;
  const exchanges: Exchange[] = [];

  const server: Server = createServer((req, res) => {
    const exchange: Exchange = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      requestHeaders: req.headers,
      status: 0,
      responseHeaders: [],
      body: Buffer.alloc(0),
      bodyLength: 0,
    };
    exchanges.push(exchange);
    const location = options.redirect?.(exchange.method, exchange.path);
    if (location !== undefined) {
      exchange.status = options.redirectStatus ?? 307;
      exchange.responseHeaders.push(`Location: ${location}`);
      req.resume();
      res.writeHead(exchange.status, { Location: location, 'Content-Length': '0' });
      res.end();
      return;
    }
    const upstream = httpRequest(
      {
        hostname: targetUrl.hostname,
        port: targetUrl.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        exchange.status = upstreamRes.statusCode ?? 0;
        const raw = upstreamRes.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) exchange.responseHeaders.push(`${raw[i]}: ${raw[i + 1]}`);
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.rawHeaders);
        const kept: Buffer[] = [];
        let keptLength = 0;
        upstreamRes.on('data', (chunk: Buffer) => {
          exchange.bodyLength += chunk.length;
          if (keptLength < maxBody) {
            const part = chunk.subarray(0, maxBody - keptLength);
            kept.push(part);
            keptLength += part.length;
          }
        });
        upstreamRes.on('end', () => {
          exchange.body = Buffer.concat(kept);
        });
        upstreamRes.on('error', (error) => {
          exchange.error = String(error);
          res.destroy(error);
        });
        upstreamRes.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      exchange.error = String(error);
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`recorder: ${String(error)}`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    exchanges,
    reset: () => {
      exchanges.length = 0;
    },
    transcript: () =>
      exchanges
        .map((e) => `${e.method} ${e.path} -> ${e.status}\n${e.responseHeaders.join('\n')}\n\n${e.body.toString('latin1')}`)
        .join('\n\n'),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
