/**
 * Relays a body, erroring it if no bytes arrive for `idleMs` (`0`: never), so a stalled upstream
 * ends in a reset connection the client can see and retry, rather than a transfer that hangs
 * forever. One timer per body checks the last activity, instead of re-arming a timer per chunk.
 * A body that ends cleanly short of `expectedBytes` (its Content-Length) is errored too: a
 * runtime that does not check the length itself must not turn a truncated blob into a clean one.
 */
export function withBodyChecks(
  body: ReadableStream<Uint8Array>,
  idleMs: number,
  onTimeout: () => void,
  expectedBytes?: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let lastActivity = Date.now();
  let received = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        if (idleMs <= 0) return;
        timer = setInterval(
          () => {
            if (Date.now() - lastActivity < idleMs) return;
            stop();
            const error = new Error(`upstream body stalled for ${idleMs} ms`);
            controller.error(error);
            reader.cancel(error).catch(() => {});
            onTimeout();
          },
          Math.max(50, Math.min(idleMs / 4, 5_000)),
        );
      },
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          lastActivity = Date.now();
          if (done) {
            stop();
            if (expectedBytes !== undefined && received < expectedBytes) {
              controller.error(new Error(`upstream body ended after ${received} of ${expectedBytes} bytes`));
            } else {
              controller.close();
            }
          } else {
            received += value.byteLength;
            controller.enqueue(value);
          }
        } catch (error) {
          // Upstream truncated or reset: fail the client's transfer too, never end it cleanly.
          stop();
          controller.error(error);
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
