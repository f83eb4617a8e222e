/**
 * workerd (Cloudflare Workers) sends a body made in JS chunked, whatever its `Content-Length`
 * header says; only its own `FixedLengthStream` carries a length onto the wire. It also errors
 * a body shorter or longer than the length, so the client sees a truncated blob as one. Found as
 * a global, never imported: `lib/` stays runtime-agnostic, and elsewhere the body is left as is
 * (Node and Deno keep the header; Bun drops it for any JS stream, oven-sh/bun#10507).
 */
type FixedLengthStreamConstructor = new (length: number) => TransformStream<Uint8Array, Uint8Array>;

export function withDeclaredLength(body: ReadableStream<Uint8Array>, length: number): ReadableStream<Uint8Array> {
  const FixedLengthStream = (globalThis as { FixedLengthStream?: FixedLengthStreamConstructor }).FixedLengthStream;
  return FixedLengthStream ? body.pipeThrough(new FixedLengthStream(length)) : body;
}
