import type { FetchHandler, RequestLogEntry } from './options/types.ts';

export type { RequestLogEntry } from './options/types.ts';

/** Wraps a handler so every response is reported to `log`; a failing logger never fails a request. */
export function withRequestLog(handler: FetchHandler, log: (entry: RequestLogEntry) => void): FetchHandler {
  return async (request) => {
    const started = performance.now();
    const response = await handler(request);
    try {
      const url = request.url;
      const pathStart = url.indexOf('/', url.indexOf('//') + 2);
      const queryStart = url.indexOf('?', pathStart);
      log({
        method: request.method,
        path: url.slice(pathStart, queryStart === -1 ? undefined : queryStart),
        status: response.status,
        durationMs: performance.now() - started,
        userAgent: request.headers.get('user-agent') ?? undefined,
        request,
        response,
      });
    } catch {
      // Logging is best effort.
    }
    return response;
  };
}
