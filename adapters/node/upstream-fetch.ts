import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { pipeline, Readable } from 'node:stream';
import { GUARDED_BODY } from '../../lib/upstream/guarded-body.ts';

/** The Node stream behind a response body from `createNodeFetch`, for the Node adapter's direct pipe. */
export const NODE_BODY = Symbol.for('registry-proxy.node-body');

export interface NodeFetchOptions {
  /**
   * Milliseconds a response body may stall before its socket is destroyed (the proxy's
   * `timeouts.idle`); `0` turns it off.
   * @default 60000
   */
  idleTimeout?: number;
  /** Upstream connections kept per host. @default 256 */
  maxSockets?: number;
}

type NodeBodyStream = ReadableStream<Uint8Array> & { [NODE_BODY]?: IncomingMessage; [GUARDED_BODY]?: true };

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/**
 * A `fetch` for the proxy's upstream requests on Node's own `http`/`https` clients with
 * keep-alive pools. Node's global fetch (undici) costs several times more CPU per request, and
 * its body is a web stream that must be re-read chunk by chunk; here the body stays a Node
 * stream the adapter can pipe straight to the client (backpressure included), while `lib/`
 * still sees a standard `Response`. Only what the proxy uses is supported: `redirect` is always
 * `'manual'`, bodies are streams or strings.
 *
 * The body enforces its own `Content-Length` (Node errors a message cut short) and idle timeout
 * (socket timeout), which it declares with `GUARDED_BODY` so `lib/` adds no wrapper of its own.
 */
export function createNodeFetch(options: NodeFetchOptions = {}): typeof fetch {
  const idleTimeout = options.idleTimeout ?? 60_000;
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 256, scheduling: 'lifo' as const };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };

  return ((input: RequestInfo | URL, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = input instanceof URL ? input : new URL(input instanceof Request ? input.url : input);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
        return;
      }
      const method = (init.method ?? 'GET').toUpperCase();
      const headers: Record<string, string> = {};
      (init.headers instanceof Headers ? init.headers : new Headers(init.headers)).forEach((value, name) => (headers[name] = value));
      const request = (url.protocol === 'https:' ? https : http).request(url, {
        method,
        headers,
        agent: agents[url.protocol],
      });

      const signal = init.signal;
      const onAbort = () => request.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
      if (signal?.aborted) {
        onAbort();
      } else {
        signal?.addEventListener('abort', onAbort, { once: true });
        request.once('close', () => signal?.removeEventListener('abort', onAbort));
      }

      request.on('error', (error) => {
        // Before the response: the fetch fails. After it, the body stream carries the error.
        const reason = signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error });
        reject(reason);
      });

      request.once('response', (message) => {
        // Response accepts 200–599 only; anything else (`HTTP/1.1 999`) is a broken upstream, and
        // a throw here, outside any promise, would end the process.
        const status = message.statusCode ?? 0;
        if (status < 200 || status > 599) {
          request.destroy();
          reject(new TypeError('fetch failed', { cause: new Error(`upstream answered with status ${status}`) }));
          return;
        }
        if (idleTimeout > 0) watchIdle(request, message, idleTimeout);
        // Errors after this point reach whoever reads the body (pipe or web stream); without a
        // listener of its own an unread, failing message would crash the process.
        message.on('error', () => {});
        const responseHeaders = new Headers();
        const raw = message.rawHeaders;
        for (let index = 0; index < raw.length; index += 2) responseHeaders.append(raw[index]!, raw[index + 1]!);
        let body: NodeBodyStream | null = null;
        if (method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
          message.resume();
        } else {
          body = bodyStream(message);
        }
        resolve(new Response(body, { status, statusText: message.statusMessage ?? '', headers: responseHeaders }));
      });

      const body = init.body;
      if (body && typeof (body as ReadableStream).getReader === 'function') {
        // A pushed blob: the server adapter's request body may be a ponyfill stream rather than
        // the global ReadableStream, so read it through its reader.
        // pipeline, not pipe: a client that leaves mid-push errors the source, and that error must
        // end this upstream request rather than go unhandled and take the process down.
        pipeline(Readable.from(readChunks(body as ReadableStream<Uint8Array>)), request, (error) => {
          if (error) request.destroy(error);
        });
      } else if (typeof body === 'string' || body instanceof Uint8Array) {
        request.end(body);
      } else {
        request.end();
      }
    })) as typeof fetch;
}

/** Why an upstream body was cut by the idle timeout, for the adapter's error report. */
export const STALLED = Symbol.for('registry-proxy.upstream-stalled');

/**
 * Destroys the upstream request when its body sends nothing for `idleMs` while the proxy is
 * waiting for it. A socket timeout alone would also count the time the body sits paused by
 * the client's backpressure (the message's buffer full, the socket not read): then the timeout
 * is re-armed instead, so a slow reader is never cut for a healthy upstream.
 */
function watchIdle(request: http.ClientRequest, message: IncomingMessage, idleMs: number): void {
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

/**
 * A web stream over the message, read only if `lib/` reads it (error bodies, tag lists, token
 * JSON); when the adapter pipes the Node stream directly, this one is never pulled.
 */
function bodyStream(message: IncomingMessage): NodeBodyStream {
  let iterator: AsyncIterator<Buffer> | undefined;
  const stream: NodeBodyStream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= message[Symbol.asyncIterator]();
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    },
    cancel() {
      message.destroy();
    },
  },
  // Nothing is read until someone asks: a default high-water mark would pull at once and take
  // the message away from the adapter's pipe.
  { highWaterMark: 0 });
  stream[NODE_BODY] = message;
  stream[GUARDED_BODY] = true;
  return stream;
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
