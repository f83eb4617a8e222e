import type { Readable } from 'node:stream';
import { GUARDED_BODY, WITH_HEAD } from '../../lib/upstream/guarded-body.ts';
import { lazyWebStream, TAKE_NODE_STREAM } from './node-body.ts';
import { standIn } from './stand-in.ts';

/**
 * An upstream response as `lib/` sees it, over the Node message it came in: `status`,
 * `statusText`, `headers` and `ok` as they are, and a body that becomes a web stream only when
 * someone reads `body`. A manifest or blob passes through `lib/` untouched — its response
 * re-headed with `WITH_HEAD` — and the listener pipes the Node message to the client. Without
 * this, every response cost a `ReadableStream` (~25 µs on Node 20) and two undici `Response`s.
 * Every other member answers from a full `Response`, made on first use.
 */
class NodeResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** The body's source until someone takes it or reads `body`; `undefined` for no body. */
  #source: Readable | undefined;
  #body: ReadableStream<Uint8Array> | null | undefined;
  #full: Response | undefined;

  constructor(source: Readable | undefined, status: number, statusText: string, headers: Headers) {
    this.#source = source;
    this.status = status;
    this.statusText = statusText;
    this.headers = headers;
    if (source) (this as { [GUARDED_BODY]?: true })[GUARDED_BODY] = true;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#body === undefined) {
      const source = this.#source;
      this.#source = undefined;
      this.#body = source ? lazyWebStream(source) : null;
      if (this.#body) (this.#body as { [GUARDED_BODY]?: true })[GUARDED_BODY] = true;
    }
    return this.#body;
  }

  /** The same body with another head: the Node message moves to the new response, untouched. */
  [WITH_HEAD](init: ResponseInit): Response {
    const source = this.#source;
    if (source === undefined) return new Response(this.body, init);
    this.#source = undefined;
    this.#body = null;
    const headers = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
    return createNodeResponse(source, init.status ?? 200, init.statusText ?? '', headers);
  }

  /** The Node message behind the body, while nobody has read it (see node-body.ts). */
  [TAKE_NODE_STREAM](): Readable | undefined {
    const source = this.#source;
    if (source !== undefined) {
      this.#source = undefined;
      this.#body = null;
      return source;
    }
    return this.#body ? (this.#body as { [TAKE_NODE_STREAM]?: () => Readable | undefined })[TAKE_NODE_STREAM]?.() : undefined;
  }

  full(): Response {
    return (this.#full ??= new Response(this.body, { status: this.status, statusText: this.statusText, headers: this.headers }));
  }
}

standIn(NodeResponse, Response);

/**
 * A Response over a Node message (`source`: its body; `undefined` for none). Throws a
 * `RangeError`, as the Response constructor does, for a status a Response cannot hold.
 */
export function createNodeResponse(source: Readable | undefined, status: number, statusText: string, headers: Headers): Response {
  if (!(status >= 200 && status <= 599)) throw new RangeError(`status ${status} is outside 200–599`);
  return new NodeResponse(source, status, statusText, headers) as unknown as Response;
}
