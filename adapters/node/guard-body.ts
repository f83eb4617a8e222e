import type { ServerResponse } from 'node:http';

/**
 * Guards a response body on its way through @whatwg-node/server 0.11, which mishandles a body
 * that errors (fixed in 0.13, which needs Node >= 22.15):
 *
 * - after a client disconnect it calls `reader.cancel(err)` on the errored body without a
 *   `catch`, and the unhandled rejection kills the process;
 * - when the upstream breaks off mid-body it logs the error but never ends the Node response,
 *   so the client waits forever for the missing bytes.
 *
 * Here a failure after the client has gone just ends the body, cancelling never rejects, and a
 * failure while the client is still there destroys the connection so the client sees a reset
 * (and retries) rather than a hang or a truncated body it would take for complete — and the
 * stream then ends without erroring, which the library would mishandle again.
 */
export function guardBody(response: Response, request: Request, nodeResponse: ServerResponse | undefined): Response {
  if (response.body === null) return response;
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          if (request.signal.aborted) {
            controller.close();
            return;
          }
          if (!nodeResponse) {
            controller.error(error);
            return;
          }
          // Reset the client's connection first, so it cannot take the body for whole; then end
          // the stream quietly: an errored one makes @whatwg-node/server 0.11 call
          // `reader.cancel(err)` without a catch, an unhandled rejection that ends the process.
          nodeResponse.destroy(error instanceof Error ? error : new Error(String(error)));
          controller.close();
        }
      },
      cancel(reason) {
        return reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
