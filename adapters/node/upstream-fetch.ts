import http, { type ClientRequest, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { pipeline, Readable } from 'node:stream';
import { UPSTREAM_EXCHANGE, type UpstreamExchangeInit } from '../../lib/upstream/fetch.ts';
import { takeNodeStream } from './node-body.ts';
import { onNodeRequestAbort } from './request.ts';
import { createNodeResponse } from './response.ts';

export interface NodeFetchOptions {
  /**
   * Milliseconds a response body may stall before its socket is destroyed (the proxy's
   * `timeouts.idle`); `0` turns it off.
   * @default 60000
   */
  idleTimeout?: number;
  /** Upstream connections kept per host. @default 256 */
  maxSockets?: number;
  /**
   * How long an idle upstream connection is kept when the upstream announces no
   * `Keep-Alive: timeout`. One it announces wins (less a second, so the proxy never sends on
   * a connection the upstream is closing), up to `maxKeepAlive`.
   * @default 4000
   */
  keepAlive?: number;
  /** @default 600000 */
  maxKeepAlive?: number;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout=(\d+)/i;
/** A server may close an idle connection just as we reuse it: the request never got a byte back. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** On a request sent over a reused socket: the bytes that socket had read before it. */
const BYTES_BEFORE = Symbol('bytesBefore');
type PooledRequest = ClientRequest & { [BYTES_BEFORE]?: number };

interface PoolTimeouts {
  keepAlive: number;
  maxKeepAlive: number;
}

/**
 * Idle connections stay as long as the upstream says it keeps them (`Keep-Alive: timeout=N`,
 * less a second), else `keepAlive`. Node's own agent only ever shortens its `timeout` option by
 * the hint, and with no `timeout` keeps idle sockets forever — until the upstream closes one
 * under a request.
 */
function keepSocketAlive(timeouts: PoolTimeouts, socket: Socket): boolean {
  socket.setKeepAlive(true, 1000);
  socket.unref();
  let idle = timeouts.keepAlive;
  // The request that just finished on this socket, and its response (what Node's agent reads too).
  const finished = (socket as Socket & { _httpMessage?: { res?: IncomingMessage } | null })._httpMessage;
  const hint = finished?.res?.headers['keep-alive']?.toString();
  const seconds = hint === undefined ? undefined : KEEP_ALIVE_TIMEOUT.exec(hint)?.[1];
  if (seconds !== undefined) {
    idle = Math.min(Number(seconds) * 1000 - 1000, timeouts.maxKeepAlive);
    if (idle <= 0) return false;
  }
  socket.setTimeout(idle);
  return true;
}

function reuse(socket: Socket, request: PooledRequest): void {
  socket.setTimeout(0); // the idle timer is for a free socket; a request sets its own
  request[BYTES_BEFORE] = socket.bytesRead;
}

function createAgents(maxSockets: number, timeouts: PoolTimeouts) {
  const options = { keepAlive: true, maxSockets, scheduling: 'lifo' as const };
  // The same pool rules for both schemes: a subclass of each agent, from one definition.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- TypeScript requires this signature of a mixin base
  const pooled = <T extends new (...args: any[]) => http.Agent>(Agent: T) =>
    class extends Agent {
      override keepSocketAlive(socket: Socket): boolean {
        return keepSocketAlive(timeouts, socket);
      }
      override reuseSocket(socket: Socket, request: PooledRequest): void {
        reuse(socket, request);
        super.reuseSocket(socket, request);
      }
    };
  const HttpAgent = pooled(http.Agent);
  const HttpsAgent = pooled(https.Agent);
  return { 'http:': new HttpAgent(options), 'https:': new HttpsAgent(options) };
}

/**
 * A `fetch` for the proxy's upstream requests on Node's own `http`/`https` clients with
 * keep-alive pools. Node's global fetch (undici) costs several times more CPU per request, and
 * its body is a web stream that must be re-read chunk by chunk; here the body stays a Node
 * stream the listener pipes straight to the client (backpressure included), while `lib/`
 * still sees a standard `Response`. Only what the proxy uses is supported: `redirect` is always
 * `'manual'`, bodies are streams, strings or bytes.
 *
 * The body enforces its own `Content-Length` (Node errors a message cut short) and idle timeout
 * (socket timeout), which it declares with `GUARDED_BODY` so `lib/` adds no wrapper of its own,
 * and is made a web stream only when read (see response.ts).
 *
 * The pool: a GET or HEAD sent on a reused connection that the upstream resets before
 * answering a single byte (it closed the idle connection as we sent) is sent once more on a new
 * connection. A request with a body never is: a streamed body cannot be replayed.
 */
export function createNodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const idleTimeout = options.idleTimeout ?? 60_000;
  const agents = createAgents(options.maxSockets ?? 256, {
    keepAlive: options.keepAlive ?? 4000,
    maxKeepAlive: options.maxKeepAlive ?? 600_000,
  });

  const nodeFetch = ((input: RequestInfo | URL, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = input instanceof URL ? input : new URL(input instanceof Request ? input.url : input);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
        return;
      }
      const agent = agents[url.protocol];
      const method = (init.method ?? 'GET').toUpperCase();
      // Raw header list: Node stores it as it is. It adds no Host to a list, so that comes first.
      const headers: string[] = ['host', url.host];
      (init.headers instanceof Headers ? init.headers : new Headers(init.headers)).forEach((value, name) => {
        if (name !== 'host') headers.push(name, value);
      });
      const body = init.body;
      const replayable = (method === 'GET' || method === 'HEAD') && (body === undefined || body === null);
      const exchange = (init as ExchangeInit)[UPSTREAM_EXCHANGE];
      // Request options as Node's urlToHttpOptions would make them from the URL, made once here
      // rather than on every send (it showed in the manifest profile).
      const target = {
        protocol: url.protocol,
        hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: url.pathname + url.search,
        method,
        headers,
        agent,
      };

      let current: PooledRequest | undefined;
      let settled = false;
      let cancelledBy: Error | undefined;
      const stopFollowing = followCancellation(init, exchange, (reason) => {
        cancelledBy = reason;
        current?.destroy(reason);
      });
      let timedOut = false;
      const headersTimeout = exchange?.headersTimeout ?? 0;
      const timer =
        headersTimeout > 0
          ? setTimeout(() => {
              timedOut = true;
              current?.destroy(new HeadersTimeout(headersTimeout));
            }, headersTimeout)
          : undefined;
      const fail = (error: Error) => {
        settled = true;
        clearTimeout(timer);
        stopFollowing();
        reject(cancelledBy ?? new TypeError('fetch failed', { cause: timedOut ? new HeadersTimeout(headersTimeout) : error }));
      };

      const send = (retried: boolean): void => {
        const request: PooledRequest = (url.protocol === 'https:' ? https : http).request(target);
        current = request;
        if (cancelledBy) request.destroy(cancelledBy);
        request.on('error', (error: NodeJS.ErrnoException) => {
          // After the response, the body carries the error; this listener only keeps it from crashing.
          if (settled) return;
          if (
            replayable &&
            !retried &&
            !cancelledBy &&
            !timedOut &&
            request.reusedSocket &&
            RESET_CODES.has(error.code ?? '') &&
            // Not a byte of an answer came back: the upstream cannot have acted on the request.
            request.socket?.bytesRead === request[BYTES_BEFORE]
          ) {
            send(true);
            return;
          }
          fail(error);
        });

        request.once('response', (message) => {
          settled = true;
          clearTimeout(timer);
          request.once('close', stopFollowing);
          if (idleTimeout > 0) watchIdle(request, message, idleTimeout);
          // Errors from here on reach whoever reads the body (the listener's pipe or a web
          // stream); without a listener of its own an unread, failing message would crash the process.
          message.on('error', noop);
          try {
            resolve(toResponse(message, method));
          } catch (error) {
            // A status a Response cannot hold (`HTTP/1.1 999`): the upstream is broken.
            message.destroy();
            reject(new TypeError('fetch failed', { cause: error }));
          }
        });

        if (body === undefined || body === null) request.end();
        else if (typeof body === 'string' || body instanceof Uint8Array) request.end(body);
        else sendBody(body as ReadableStream<Uint8Array>, request);
      };
      send(false);
    })) as typeof globalThis.fetch;
  // lib/ hands this fetch the client request and the headers timeout instead of a signal of its own.
  return Object.assign(nodeFetch, { [UPSTREAM_EXCHANGE]: true as const });
}

type ExchangeInit = RequestInit & { [UPSTREAM_EXCHANGE]?: UpstreamExchangeInit };

class HeadersTimeout extends Error {
  override name = 'TimeoutError';
  constructor(ms: number) {
    super(`no response head within ${ms} ms`);
  }
}

/**
 * Calls `cancel` when the exchange's client goes away (or its signal aborts), and returns what
 * stops following it. A request from this adapter's listener is followed without an
 * AbortSignal (see request.ts); any other through its `signal`.
 */
function followCancellation(init: RequestInit, exchange: UpstreamExchangeInit | undefined, cancel: (reason: Error) => void): () => void {
  const client = exchange?.client;
  const unsubscribe = client && onNodeRequestAbort(client, cancel);
  if (unsubscribe) return unsubscribe;
  const signal = (exchange ? (client?.signal ?? exchange.signal) : init.signal) ?? undefined;
  if (!signal) return noop;
  const onAbort = () => cancel(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
  if (signal.aborted) {
    onAbort();
    return noop;
  }
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

const noop = () => {};

/** On an upstream message cut by the idle timeout: the timeout, for the listener's report. */
export const STALLED = Symbol.for('registry-proxy.upstream-stalled');

/**
 * Destroys the upstream request when its body sends nothing for `idleMs` while the proxy is
 * waiting for it. A socket timeout alone would also count the time the body sits paused by
 * the client's backpressure (the message's buffer full, the socket not read): then the timeout
 * is re-armed instead, so a slow reader is never cut for a healthy upstream.
 */
function watchIdle(request: ClientRequest, message: IncomingMessage, idleMs: number): void {
  request.setTimeout(idleMs);
  request.on('timeout', () => {
    if (message.complete || message.destroyed) return;
    if (message.readableLength >= message.readableHighWaterMark) {
      request.setTimeout(idleMs);
      return;
    }
    (message as IncomingMessage & { [STALLED]?: number })[STALLED] = idleMs;
    request.destroy(new Error(`upstream body stalled for ${idleMs} ms`));
  });
}

function toResponse(message: IncomingMessage, method: string): Response {
  const headers = new Headers();
  const raw = message.rawHeaders;
  for (let index = 0; index < raw.length; index += 2) headers.append(raw[index]!, raw[index + 1]!);
  const status = message.statusCode ?? 502;
  const hasBody = method !== 'HEAD' && !NULL_BODY_STATUSES.has(status);
  if (!hasBody) message.resume();
  // The body stays the Node message: lib/ relays it untouched and the listener pipes it; it
  // becomes a web stream only if lib/ reads it (error bodies, tag lists, token JSON).
  return createNodeResponse(hasBody ? message : undefined, status, message.statusMessage ?? '', headers);
}

/**
 * A pushed body: the client's own Node stream when it is one (see request.ts), else the web
 * stream read through its reader. A client that breaks off mid-push errors the pipeline, which
 * destroys the upstream request: the fetch then fails, and nothing is left unhandled.
 */
function sendBody(body: ReadableStream<Uint8Array>, request: ClientRequest): void {
  const source = takeNodeStream(body) ?? Readable.from(readChunks(body));
  pipeline(source, request, noop);
}

async function* readChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}
