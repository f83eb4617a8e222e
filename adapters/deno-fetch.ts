import { GATHER_READS } from '../lib/upstream/guarded-body.ts';
/**
 * The Deno adapter's upstream `fetch`: Deno's own, over an HTTP/1.1-only client.
 *
 * Why not HTTP/2 (what Deno's fetch picks by ALPN): the proxy relays a body through JavaScript
 * (lib/upstream/body-checks.ts keeps the idle and length checks), and over h2 every read waits
 * on the stream's flow-control window, which Deno's client reopens only as JavaScript takes the
 * bytes. One 1 GiB stream through that hop ran at ~55-95 MB/s over h2 against ~200-360 MB/s over
 * HTTP/1.1 on the same loopback TLS upstream (issue 10). Blob pulls are long single streams,
 * where h2's multiplexing gains nothing; the Node adapter's client is HTTP/1.1 too.
 *
 * Trusted CAs are Deno's (DENO_CERT / --cert apply to a created client as to the default one).
 */

/** The part of `Deno.createHttpClient` used here, typed here so no Deno type reaches the published declarations. */
interface DenoHttpClientFactory {
  createHttpClient(options: { http1?: boolean; http2?: boolean }): object;
}

/** Deno's `fetch` over one shared HTTP/1.1-only client. */
export function createDenoFetch(): typeof fetch {
  const deno = (globalThis as unknown as { Deno: DenoHttpClientFactory }).Deno;
  const client = deno.createHttpClient({ http1: true, http2: false });
  return (async (input: RequestInfo | URL, init?: RequestInit) => {
    const response = await fetch(input, { ...init, client } as RequestInit);
    if (response.body) (response.body as { [GATHER_READS]?: true })[GATHER_READS] = true;
    return response;
  }) as typeof fetch;
}
