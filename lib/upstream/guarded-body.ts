/**
 * A `fetch` passed in `options.fetch` may mark a response body with this symbol to say the body
 * itself errors when it ends short of its `Content-Length` or stalls past the idle timeout. The
 * proxy then relays that stream as it is, instead of wrapping it in a checking stream — which
 * keeps a runtime adapter free to pipe it natively (the Node adapter does). The mark may also
 * stand on the Response itself, for a body the fetch makes only when it is first read.
 */
export const GUARDED_BODY: unique symbol = Symbol.for('registry-proxy.guarded-body') as never;

/**
 * A `fetch` may give its Responses a method under this symbol that makes a Response with another
 * status and headers around the same body, without that body being made into a web stream
 * first: the Node adapter's responses hold the upstream's Node stream, which its listener pipes
 * to the client as it is.
 */
export const WITH_HEAD: unique symbol = Symbol.for('registry-proxy.with-head') as never;

type Marked = { [GUARDED_BODY]?: unknown; [WITH_HEAD]?: (init: ResponseInit) => Response };

/** Whether the response has a body that guards itself (asked without making a lazy body). */
export function hasGuardedBody(response: Response): boolean {
  if ((response as Marked)[GUARDED_BODY] === true) return true;
  const body = response.body;
  return body !== null && (body as Marked)[GUARDED_BODY] === true;
}

/** The client's response around the upstream's body, as it is. */
export function relayBody(upstream: Response, init: ResponseInit): Response {
  const withHead = (upstream as Marked)[WITH_HEAD];
  return withHead ? withHead.call(upstream, init) : new Response(upstream.body, init);
}

/**
 * A `fetch` may mark a response body with this symbol to have the proxy's body checks gather
 * the reads its upstream already sent into larger chunks (see body-checks.ts). The Deno adapter
 * does: its fetch hands over one 16 KiB TLS record per read. The cost: bytes gathered before an
 * upstream pause wait for the pause to end, so it is not the default.
 */
export const GATHER_READS: unique symbol = Symbol.for('registry-proxy.gather-reads') as never;

export function wantsGatheredReads(body: ReadableStream<Uint8Array>): boolean {
  return (body as { [GATHER_READS]?: unknown })[GATHER_READS] === true;
}
