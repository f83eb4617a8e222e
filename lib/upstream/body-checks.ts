import { wantsGatheredReads } from './guarded-body.ts';

/** The most one relayed chunk gathers from the upstream body (see `readChunk`). */
const CHUNK_BYTES = 256 * 1024;

/**
 * A read that waited this long for the upstream means the upstream, not the proxy, is the slow
 * side: what was gathered is sent at once (see `readChunk`).
 */
const WAITED_MS = 1;

/**
 * Relays an upstream body with two checks a runtime may not make itself:
 *
 * - Idle: the body errors when the upstream sends nothing for `idleMs` (`0`: never) *while the
 *   proxy is waiting for it* — a read is pending because the client took what was read ahead.
 *   A client that stops reading stops the reads, and so the clock: backpressure is not a
 *   stalled upstream. A stalled upstream ends in a reset connection the client can see and
 *   retry, rather than a transfer that hangs forever.
 * - Length: a body that ends cleanly short of `expectedBytes` (its Content-Length) is errored,
 *   so a truncated blob never ends like a whole one.
 *
 * Every upstream failure (stall, short end, broken connection) is reported to `onFailure`, once;
 * a client that leaves is not a failure. One timer per body checks the pending read, instead of
 * re-arming a timer per chunk.
 *
 * Relaying through JavaScript costs per chunk, not per byte, and a runtime's fetch hands the body
 * over in small pieces (Deno: one 16 KiB TLS record per read, each in a fresh 64 KiB buffer). So
 * a byte-stream body is read with a BYOB reader into one buffer per relayed chunk, gathering up
 * to `CHUNK_BYTES` (see `readChunk`): on Deno one 1 GiB stream went from ~55 MB/s and ~5 CPU s
 * per GiB to about the rate of its native pipe, at ~2.5 CPU s per GiB (issue 10).
 */
export function withBodyChecks(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  onFailure: (error: Error) => void,
  expectedBytes?: number,
): ReadableStream<Uint8Array> {
  const byob = wantsGatheredReads(body) ? byobReader(body) : undefined;
  const reader = byob ?? body.getReader();
  /** When the pending read started (`performance.now()`); `undefined` while none is pending. */
  let waitingSince: number | undefined;
  let received = 0;
  let ended = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let finished = false;
  const stop = () => {
    finished = true;
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: Error) => {
    if (finished) return;
    stop();
    controller.error(error);
    reader.cancel(error).catch(() => {});
    onFailure(error);
  };

  /** A gathering buffer to reuse: its last gathering went out as a copy. */
  let spare: ArrayBuffer | undefined;

  /** One upstream read, timed for the idle check; `undefined` when it failed (already reported). */
  const read = async (
    controller: ReadableStreamDefaultController<Uint8Array>,
    into?: Uint8Array<ArrayBuffer>,
  ): Promise<ReadableStreamReadResult<Uint8Array> | undefined> => {
    waitingSince = performance.now();
    try {
      return byob && into ? ((await byob.read(into)) as ReadableStreamReadResult<Uint8Array>) : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
    } catch (error) {
      // Upstream truncated or reset: fail the client's transfer too, never end it cleanly.
      fail(controller, error instanceof Error ? new Error(`upstream body failed: ${error.message}`, { cause: error }) : new Error(`upstream body failed: ${String(error)}`));
      return undefined;
    } finally {
      waitingSince = undefined;
    }
  };

  /**
   * Reads that the upstream had already sent complete at once: they are gathered into one
   * buffer, up to `CHUNK_BYTES`, so the client side handles one chunk where it would handle
   * sixteen. A read that had to wait for the network sends what is gathered at once, so a slow
   * upstream's bytes reach the client as they come.
   */
  const readChunk = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<Uint8Array | undefined> => {
    let buffer = spare ?? new ArrayBuffer(CHUNK_BYTES);
    spare = undefined;
    let filled = 0;
    while (filled < CHUNK_BYTES) {
      const started = performance.now();
      const result = await read(controller, new Uint8Array(buffer, filled, CHUNK_BYTES - filled));
      if (!result || finished) return undefined;
      // The reader hands back the buffer it took (transferred), with or without bytes in it.
      if (result.value) buffer = result.value.buffer as ArrayBuffer;
      if (result.done) {
        ended = true;
        break;
      }
      filled += result.value.byteLength;
      if (performance.now() - started >= WAITED_MS) break;
    }
    if (filled < CHUNK_BYTES / 4) {
      // Little gathered (an upstream slower than the client, as under many parallel pulls): a
      // copy goes out and the buffer serves the next read, rather than a whole 256 KiB buffer
      // held by each small chunk until the client has taken it and the collector has run.
      spare = buffer;
      return new Uint8Array(buffer, 0, filled).slice();
    }
    return new Uint8Array(buffer, 0, filled);
  };

  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (idleMs <= 0) return;
        timer = setInterval(
          () => {
            if (waitingSince === undefined || performance.now() - waitingSince < idleMs) return;
            fail(controller, new Error(`upstream body stalled for ${idleMs} ms`));
          },
          Math.max(50, Math.min(idleMs / 4, 5_000)),
        );
      },
      async pull(controller) {
        let chunk: Uint8Array | undefined;
        if (!ended) {
          if (byob) {
            chunk = await readChunk(controller);
            if (!chunk || finished) return;
          } else {
            const result = await read(controller);
            if (!result || finished) return;
            if (result.done) ended = true;
            else chunk = result.value;
          }
        }
        if (chunk && chunk.byteLength > 0) {
          received += chunk.byteLength;
          controller.enqueue(chunk);
        }
        if (!ended) return;
        if (expectedBytes !== undefined && received < expectedBytes) {
          fail(controller, new Error(`upstream body ended after ${received} of ${expectedBytes} bytes`));
        } else {
          stop();
          controller.close();
        }
      },
      cancel(reason) {
        stop();
        // The upstream body may already have errored: cancelling it must not reject unhandled.
        return reader.cancel(reason).catch(() => {});
      },
    },
    // Read ahead up to 256 KiB, as nginx's proxy buffers do: upstream reads overlap client
    // writes, while memory per transfer stays bounded whatever the blob's size.
    new ByteLengthQueuingStrategy({ highWaterMark: CHUNK_BYTES }),
  );
}

/** A BYOB reader when the body is a byte stream (a runtime's fetch body is), else `undefined`. */
function byobReader(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | undefined {
  try {
    return body.getReader({ mode: 'byob' });
  } catch {
    return undefined;
  }
}
