import { GUARDED_BODY } from '../lib/upstream/guarded-body.ts';

/**
 * The upstream `fetch` of the Bun adapter: Bun's own, with its per-request socket idle timeout
 * set to the proxy's `timeouts.idle`, and bodies marked `GUARDED_BODY` so that `lib/` relays
 * them as they are and `Bun.serve` pipes them natively — no JavaScript per chunk.
 *
 * What makes the mark true (test/e2e/fetch-guarantees.test.ts): Bun's fetch errors a body cut
 * short of its Content-Length (FIN, RST, a chunked body without its end), and with `timeout`
 * errors one that stalls. The timer counts socket idleness, so while a slow client holds the
 * transfer back Bun keeps reading ahead into its own buffer rather than leaving the socket idle
 * (the fault suite's slow-reader case holds it to that).
 */
export function createBunFetch(idleTimeout: number): typeof fetch {
  const bunFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    // Bun: 0 or false turns its idle timer off, as `timeouts.idle: 0` does the proxy's.
    const response = await fetch(input, { ...init, timeout: idleTimeout > 0 ? idleTimeout : false } as RequestInit);
    if (response.body) (response.body as { [GUARDED_BODY]?: true })[GUARDED_BODY] = true;
    return response;
  };
  return bunFetch as typeof fetch;
}
