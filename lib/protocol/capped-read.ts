import { isOciError, ociError } from './errors.ts';

/**
 * Reads a small upstream body the proxy must rewrite (an error, a tag list) as text, counting
 * bytes as they arrive — a chunked body has no Content-Length to trust — and under the idle
 * timer, so a stalled one ends in a 504 rather than a request that hangs until the client
 * leaves. `undefined` when the body runs past `maxBytes`; reading stops there and the rest is
 * cancelled, never buffered.
 */
export async function readCappedText(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  idleMs: number,
  what: string,
): Promise<string | undefined> {
  const read = await readCapped(body, maxBytes, idleMs, what);
  if (read === undefined) return undefined;
  const decoder = new TextDecoder();
  return read.chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join('') + decoder.decode();
}

/**
 * Reads a body of a known, small length whole, under the idle timer. A body that ends short of
 * `length` or runs past it is the upstream's failure (502): the client never gets it as whole.
 */
export async function readWhole(body: ReadableStream<Uint8Array>, length: number, idleMs: number, what: string): Promise<Uint8Array<ArrayBuffer>> {
  const read = await readCapped(body, length, idleMs, what);
  if (read === undefined || read.size !== length) {
    throw ociError('upstreamInvalid', `the upstream's ${what} did not match its Content-Length`, { expected: length, received: read?.size ?? `over ${length}` });
  }
  // (A runtime's chunks are never views of a SharedArrayBuffer.)
  if (read.chunks.length === 1) return read.chunks[0] as Uint8Array<ArrayBuffer>;
  const whole = new Uint8Array(length);
  let offset = 0;
  for (const chunk of read.chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}

async function readCapped(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
  idleMs: number,
  what: string,
): Promise<{ chunks: Uint8Array[]; size: number } | undefined> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await readWithin(reader, idleMs, what);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    if (isOciError(error)) throw error;
    throw ociError('upstreamInvalid', `the upstream's ${what} broke off`);
  }
  return { chunks, size };
}

function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, idleMs: number, what: string) {
  if (idleMs <= 0) return reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(ociError('upstreamTimeout', `the upstream's ${what} stalled for ${idleMs} ms`)), idleMs);
  });
  return Promise.race([reader.read(), stalled]).finally(() => clearTimeout(timer));
}
