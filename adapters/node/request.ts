import type { IncomingMessage } from 'node:http';
import { lazyWebStream } from './node-body.ts';
import { standIn } from './stand-in.ts';

const noop = () => {};

/** A request target or `Host` the proxy cannot turn into a URL: the client gets a 400. */
export class BadRequestTarget extends Error {
  override name = 'BadRequestTarget';
}

// A host as RFC 3986 allows it (a registered name or a bracketed IPv6 literal), and a port. The
// rest (a space, an unclosed bracket) would make no URL, or one that names another resource.
const HOST = /^(?:[A-Za-z0-9._~!$&'()*+,;=-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const NUMERIC_END = /\d(?::\d*)?$/;
const ABSOLUTE_TARGET = /^https?:\/\//i;

function requestUrl(incoming: IncomingMessage): string {
  const target = incoming.url ?? '/';
  if (target.charCodeAt(0) === 0x2f /* / */) {
    let host = incoming.headers.host;
    if (host === undefined) {
      // HTTP/1.0 may leave Host out (Node requires it from HTTP/1.1 clients): name the socket.
      const { localAddress = '127.0.0.1', localPort } = incoming.socket;
      host = `${localAddress.includes(':') ? `[${localAddress}]` : localAddress}:${localPort}`;
    } else if (!HOST.test(host) || (NUMERIC_END.test(host) && !URL.canParse(`http://${host}/`))) {
      // (A name ending in a number is an IPv4 address to a URL parser: `999.1.1.1` is no URL.)
      throw new BadRequestTarget('the Host header is not a valid host');
    }
    return `http://${host}${target}`;
  }
  // The absolute form (RFC 9112 §3.2.2: servers accept it; its authority wins over Host).
  if (ABSOLUTE_TARGET.test(target)) {
    try {
      return new URL(target).href;
    } catch {
      throw new BadRequestTarget('invalid request target');
    }
  }
  // `*` (OPTIONS *) and the authority form (CONNECT) name no resource the proxy serves.
  throw new BadRequestTarget('the request target must be a path or an absolute URL');
}

/**
 * The web Request a handler sees, built from Node's IncomingMessage with only what the proxy
 * reads on every request: `method`, `url`, `headers`, `signal` (made on first use), and `body`
 * (a lazy stream the upstream client can pipe without a web-stream hop). A full `Request` costs
 * ~50 µs on Node 20 (undici), more than the rest of a manifest GET; it is made only when some
 * other member is used (`clone()`, `text()`, `cache`…), and every such member then answers from it.
 */
class NodeRequest {
  readonly #incoming: IncomingMessage;
  readonly #url: string;
  readonly #headers: Headers;
  #controller: AbortController | undefined;
  #abortReason: unknown;
  /** Told of the abort without an AbortSignal (see onNodeRequestAbort). */
  #abortListeners: Set<(reason: Error) => void> | undefined;
  #body: ReadableStream<Uint8Array> | null | undefined;
  #full: Request | undefined;

  constructor(incoming: IncomingMessage) {
    this.#incoming = incoming;
    this.#url = requestUrl(incoming);
    const headers = new Headers();
    const raw = incoming.rawHeaders;
    for (let index = 0; index < raw.length; index += 2) headers.append(raw[index]!, raw[index + 1]!);
    this.#headers = headers;
  }

  get method(): string {
    return this.#incoming.method ?? 'GET';
  }

  get url(): string {
    return this.#url;
  }

  get headers(): Headers {
    return this.#headers;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === undefined) {
      const method = this.method;
      this.#body = method === 'GET' || method === 'HEAD' ? null : lazyWebStream(this.#incoming);
    }
    return this.#body;
  }

  /** The client went away before its response was written. */
  abort(reason: Error): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#abortListeners;
    this.#abortListeners = undefined;
    listeners?.forEach((listener) => listener(reason));
  }

  onAbort(listener: (reason: Error) => void): () => void {
    if (this.#abortReason !== undefined) {
      listener(this.#abortReason as Error);
      return noop;
    }
    (this.#abortListeners ??= new Set()).add(listener);
    return () => this.#abortListeners?.delete(listener);
  }

  get aborted(): boolean {
    return this.#abortReason !== undefined;
  }

  /** The full `Request`, made once, for every member not served above. */
  full(): Request {
    return (this.#full ??= new Request(this.#url, {
      method: this.method,
      headers: this.#headers,
      signal: this.signal,
      body: this.body,
      duplex: 'half',
    } as RequestInit));
  }
}

standIn(NodeRequest, Request);

/** Builds the handler's Request; throws `BadRequestTarget` when the target or Host makes no URL. */
export function createNodeRequest(incoming: IncomingMessage): Request {
  return new NodeRequest(incoming) as unknown as Request;
}

/** Aborts the request's signal (the client disconnected). */
export function abortNodeRequest(request: Request, reason: Error): void {
  (request as unknown as NodeRequest).abort(reason);
}

/**
 * Calls `listener` when the client of `request` goes away (at once if it has), and returns what
 * stops that — without the AbortController that `request.signal` costs (several per cent of a
 * manifest GET's CPU on Node 20). `undefined` for a request this adapter did not make.
 */
export function onNodeRequestAbort(request: Request, listener: (reason: Error) => void): (() => void) | undefined {
  return request instanceof NodeRequest ? request.onAbort(listener) : undefined;
}

/** Whether the client of this request has gone away. */
export function isNodeRequestAborted(request: Request): boolean {
  return (request as unknown as NodeRequest).aborted;
}
