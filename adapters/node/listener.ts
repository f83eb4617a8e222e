import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import type { FetchHandler } from '../../lib/handler.ts';
import { ociErrorResponse } from '../../lib/protocol/errors.ts';
import { takeNodeStream } from './node-body.ts';
import { STALLED } from './upstream-fetch.ts';
import { abortNodeRequest, BadRequestTarget, createNodeRequest, isNodeRequestAborted } from './request.ts';

export interface ListenerOptions {
  /**
   * Told when a response body breaks off while the client is still reading (an upstream reset
   * or stall mid-blob), and when the handler itself fails: the client sees a reset connection
   * or a 500, the operator sees why.
   */
  onError?: (error: unknown, request: Request) => void;
}

const noop = () => {};

/**
 * A `node:http` request listener serving a fetch handler, written the way @hono/node-server
 * does it rather than through @whatwg-node/server: the handler gets a lightweight Request
 * (see request.ts), and the response goes straight to the ServerResponse — head in one
 * `writeHead`, a Node body (the upstream message, see upstream-fetch.ts) by `pipeline()`, any
 * other body read chunk by chunk with backpressure.
 *
 * Whatever happens, a body that fails while the client is reading resets the client's
 * connection (a cut blob never ends cleanly), nothing is left to crash the process, and a
 * client that goes away aborts the request's signal, which cancels the upstream transfer.
 */
export function createListener(handler: FetchHandler, options: ListenerOptions = {}) {
  const onError = options.onError ?? noop;
  return (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    let request: Request;
    try {
      request = createNodeRequest(incoming);
    } catch (error) {
      const message = error instanceof BadRequestTarget ? error.message : 'invalid request headers';
      outgoing.shouldKeepAlive = false;
      writeResponse(ociErrorResponse(400, 'UNSUPPORTED', message), incoming, outgoing, undefined, onError);
      return;
    }
    outgoing.once('close', () => {
      if (!outgoing.writableFinished) abortNodeRequest(request, new Error('the client closed the connection'));
    });
    let answer: Promise<Response>;
    try {
      answer = handler(request, { clientAddress: incoming.socket.remoteAddress });
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer
      .then(
        (response) => writeResponse(response, incoming, outgoing, request, onError),
        (error: unknown) => {
          if (!isNodeRequestAborted(request)) onError(error, request);
          writeResponse(ociErrorResponse(500, 'UNKNOWN', 'the proxy failed to handle this request'), incoming, outgoing, request, onError);
        },
      )
      // Not a Response, or a throwing onError: end this exchange, never the process.
      .catch(() => outgoing.destroy());
  };
}

function writeResponse(
  response: Response,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  request: Request | undefined,
  onError: (error: unknown, request: Request) => void,
): void {
  // The Node message behind an upstream body, taken before `body` is read: reading it would make
  // the web stream this path exists to avoid (see response.ts).
  const source = takeNodeStream(response);
  const body = source === undefined ? response.body : null;
  const discard = () => {
    source?.destroy();
    body?.cancel().catch(noop);
  };
  if (outgoing.destroyed || outgoing.headersSent) {
    discard();
    return;
  }
  const head: string[] = [];
  response.headers.forEach((value, name) => {
    head.push(name, value);
  });
  try {
    // Web responses carry no reason phrase (`statusText: ''`), and Node writes the one it is
    // given: `HTTP/1.1 200 `. Deno and Bun write the standard phrase; so does this.
    outgoing.writeHead(response.status, response.statusText || STATUS_CODES[response.status] || 'Unknown', head);
  } catch (error) {
    // A header or reason phrase Node refuses to send (the upstream's, relayed): say so instead.
    discard();
    if (request) onError(error, request);
    const invalid = ociErrorResponse(502, 'UPSTREAM_INVALID', 'the upstream response cannot be relayed');
    if (response.status === 502) outgoing.destroy();
    else writeResponse(invalid, incoming, outgoing, request, onError);
    return;
  }
  if (incoming.method === 'HEAD' || (source === undefined && body === null)) {
    discard();
    outgoing.end();
    return;
  }
  if (source !== undefined) pipeNodeBody(source, outgoing, request, onError);
  else void pumpWebBody(body!, outgoing);
}

/**
 * An upstream message to the client, as `pipeline()` would pipe it: if the upstream breaks off,
 * the client socket is destroyed (a reset, never a clean end); if the client leaves, the
 * upstream message is destroyed (its connection is not reused). By hand, because `pipeline()`
 * costs an AbortController and a DOMException with a stack trace per call on Node 20 — 5% of a
 * manifest GET's CPU in the profile.
 *
 * A plain pipe, as the node-floor passthrough does: corking the client socket until the loop had
 * handled every ready TLS record (with 256 KiB buffers) wrote a blob in fewer, larger writes for
 * ~10% less CPU on 16 concurrent pulls, but cost ~20 MiB more peak RSS.
 */
function pipeNodeBody(
  source: Readable,
  outgoing: ServerResponse,
  request: Request | undefined,
  onError: (error: unknown, request: Request) => void,
): void {
  source.once('error', (error) => {
    if (outgoing.destroyed) return;
    // The upstream broke off (stalled, reset, ended short) while the client was still there:
    // the operator hears of it, as lib's own body checks report it on the other runtimes.
    if (request && !outgoing.writableFinished) onError(describeBodyFailure(source, error), request);
    outgoing.destroy(error);
  });
  outgoing.once('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  source.pipe(outgoing);
}

function describeBodyFailure(source: Readable, error: Error): Error {
  const message = source as Readable & { [STALLED]?: number; req?: { path?: string } };
  const reason = message[STALLED] !== undefined ? `stalled for ${message[STALLED]} ms` : `failed: ${error.message}`;
  return new Error(`upstream body ${reason}: ${message.req?.path ?? ''}`, { cause: error });
}

/**
 * A web-stream body (an error body, a body from a custom `fetch`) to the client, with
 * backpressure. Its failures are not reported here: lib/'s body checks report the stalls they
 * cut, as on every other runtime.
 */
async function pumpWebBody(body: ReadableStream<Uint8Array>, outgoing: ServerResponse): Promise<void> {
  const reader = body.getReader();
  const onClose = () => {
    if (!outgoing.writableFinished) reader.cancel().catch(noop);
  };
  outgoing.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (outgoing.destroyed) return;
      if (!outgoing.write(value)) await drainedOrClosed(outgoing);
    }
    outgoing.end();
  } catch (error) {
    // The client left (cancelling the body is what failed the read), or the body broke off: a
    // reset tells the client its transfer is incomplete.
    outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
  } finally {
    outgoing.off('close', onClose);
  }
}

function drainedOrClosed(outgoing: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      outgoing.off('drain', done);
      outgoing.off('close', done);
      resolve();
    };
    outgoing.on('drain', done);
    outgoing.on('close', done);
  });
}
