/** Turns a mock host's fetch-style handler into an msw handler that records requests and applies faults. */
import { http, type HttpHandler } from 'msw';
import type { Faults } from './faults.ts';
import type { RequestLog } from './recorder.ts';

export function mockHost(
  origin: string,
  requests: RequestLog,
  faults: Faults,
  handle: (request: Request) => Promise<Response> | Response,
): HttpHandler {
  return http.all(`${origin}/*`, async ({ request }) => {
    await requests.record(request);
    return faults.run(request, async () => handle(request));
  });
}

type FetchStyle = (request: Request) => Promise<Response> | Response;

/** A host that serves its token endpoint on `tokenPath` and everything else with `otherwise`. */
export function withTokenEndpoint(tokenPath: string, tokenEndpoint: FetchStyle, otherwise: FetchStyle): FetchStyle {
  return (request) => (new URL(request.url).pathname === tokenPath ? tokenEndpoint(request) : otherwise(request));
}
