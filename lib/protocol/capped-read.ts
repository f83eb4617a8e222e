import { OciError } from './errors.ts';

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
    if (error instanceof OciError) throw error;
    throw new OciError(502, 'UPSTREAM_INVALID', `the upstream's ${what} broke off`);
  }
  const decoder = new TextDecoder();
  return chunks.map((chunk) => decoder.decode(chunk, { stream: true })).join('') + decoder.decode();
}

function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, idleMs: number, what: string) {
  if (idleMs <= 0) return reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OciError(504, 'UPSTREAM_TIMEOUT', `the upstream's ${what} stalled for ${idleMs} ms`)), idleMs);
  });
  return Promise.race([reader.read(), stalled]).finally(() => clearTimeout(timer));
}
