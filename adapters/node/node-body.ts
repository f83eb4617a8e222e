import type { Readable } from 'node:stream';

/**
 * Marks a web body made by `lazyWebStream`: it holds the function that hands over the Node
 * stream behind it while nobody has read the web stream, so whoever holds the body can pipe the
 * Node stream itself — without a web-stream hop per chunk, with Node's own backpressure. Both
 * directions use it: a client's push body on its way upstream, an upstream body on its way to
 * the client.
 */
export const TAKE_NODE_STREAM = Symbol.for('registry-proxy.node-body');

type NodeBackedStream = ReadableStream<Uint8Array> & { [TAKE_NODE_STREAM]?: () => Readable | undefined };

/**
 * A web stream over a Node stream that touches the Node stream only when it is first read:
 * until then the Node stream is left alone (no listener, no buffering) for `takeNodeStream`.
 */
export function lazyWebStream(source: Readable): ReadableStream<Uint8Array> {
  let state: 'untouched' | 'read' | 'taken' = 'untouched';
  let iterator: AsyncIterator<Buffer> | undefined;
  const stream: NodeBackedStream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (state === 'taken') {
          controller.error(new TypeError('the body is already being piped'));
          return;
        }
        state = 'read';
        iterator ??= source[Symbol.asyncIterator]();
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      },
      cancel() {
        if (state === 'taken') return;
        state = 'read';
        // Without an error: an `error` event on a stream nobody listens to would crash the process.
        source.destroy();
      },
    },
    // Nothing is read until someone asks: a default high-water mark would pull at once and take
    // the Node stream away from a direct pipe.
    { highWaterMark: 0 },
  );
  stream[TAKE_NODE_STREAM] = () => {
    if (state !== 'untouched' || stream.locked) return undefined;
    state = 'taken';
    return source;
  };
  return stream;
}

/**
 * The Node stream behind a body, or behind a response's body (see response.ts), when nobody has
 * read it yet; from then on the web stream is dead and the caller owns the Node stream.
 * `undefined` for any other body or response.
 */
export function takeNodeStream(holder: ReadableStream<Uint8Array> | Response | null | undefined): Readable | undefined {
  return (holder as NodeBackedStream | null | undefined)?.[TAKE_NODE_STREAM]?.();
}
