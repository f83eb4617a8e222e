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
