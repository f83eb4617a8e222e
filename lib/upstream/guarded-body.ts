/**
 * A `fetch` passed in `options.fetch` may mark a response body with this symbol to say the body
 * itself errors when it ends short of its `Content-Length` or stalls past the idle timeout. The
 * proxy then relays that stream as it is, instead of wrapping it in a checking stream — which
 * keeps a runtime adapter free to pipe it natively (the Node adapter does).
 */
export const GUARDED_BODY: unique symbol = Symbol.for('registry-proxy.guarded-body') as never;

export function isGuardedBody(body: ReadableStream<Uint8Array>): boolean {
  return (body as { [GUARDED_BODY]?: unknown })[GUARDED_BODY] === true;
}
