export interface BodyMeter {
  /** Told a chunk's size before it goes on; a returned promise holds the chunk back until it settles (pacing). */
  hold?: (bytes: number) => void | Promise<void>;
  /** Told each chunk's size as it is passed on. */
  sent?: (bytes: number) => void;
  /** Told once, with the bytes passed on, when the body ends, fails or is cancelled. */
  end: (bytes: number) => void;
}

/**
 * A response body that reports its chunks as they stream and may hold each back (pacing).
 * Built only when metrics or byte limits ask for it: otherwise bodies go out as the upstream
 * sent them, and a runtime adapter may pipe them natively.
 */
export function meteredBody(body: ReadableStream<Uint8Array>, meter: BodyMeter): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const { hold, sent } = meter;
  let total = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    meter.end(total);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
          if (!chunk.done && hold) await hold(chunk.value.byteLength);
        } catch (error) {
          end();
          controller.error(error);
          return;
        }
        if (chunk.done) {
          end();
          controller.close();
          return;
        }
        total += chunk.value.byteLength;
        sent?.(chunk.value.byteLength);
        controller.enqueue(chunk.value);
      },
      cancel(reason) {
        end();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
