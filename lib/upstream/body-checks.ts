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
 */
export function withBodyChecks(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  onFailure: (error: Error) => void,
  expectedBytes?: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  /** When the pending read started; `undefined` while none is pending. */
  let waitingSince: number | undefined;
  let received = 0;
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
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (idleMs <= 0) return;
        timer = setInterval(
          () => {
            if (waitingSince === undefined || Date.now() - waitingSince < idleMs) return;
            fail(controller, new Error(`upstream body stalled for ${idleMs} ms`));
          },
          Math.max(50, Math.min(idleMs / 4, 5_000)),
        );
      },
      async pull(controller) {
        waitingSince = Date.now();
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          // Upstream truncated or reset: fail the client's transfer too, never end it cleanly.
          fail(controller, error instanceof Error ? new Error(`upstream body failed: ${error.message}`, { cause: error }) : new Error(`upstream body failed: ${String(error)}`));
          return;
        } finally {
          waitingSince = undefined;
        }
        if (finished) return;
        const { done, value } = result;
        if (!done) {
          received += value.byteLength;
          controller.enqueue(value);
        } else if (expectedBytes !== undefined && received < expectedBytes) {
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
    new ByteLengthQueuingStrategy({ highWaterMark: 256 * 1024 }),
  );
}
