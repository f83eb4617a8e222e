import type { FetchHandler, RequestLogEntry } from './options/types.ts';
import { requestStateOf } from './operations/request-state.ts';

export type { RequestLogEntry } from './options/types.ts';

function declaredLength(response: Response): number | undefined {
  if (response.body === null) return 0;
  const length = response.headers.get('content-length');
  return length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
}

/** Wraps a handler so every response is reported to `log`; a failing logger never fails a request. */
export function withRequestLog(handler: FetchHandler, log: (entry: RequestLogEntry) => void): FetchHandler {
  return async (request, client) => {
    const started = performance.now();
    const response = await handler(request, client);
    const durationMs = performance.now() - started;
    const write = (bytesSent: number | undefined) => {
      try {
        const url = request.url;
        const pathStart = url.indexOf('/', url.indexOf('//') + 2);
        const queryStart = url.indexOf('?', pathStart);
        const state = requestStateOf(request);
        const trace = state?.trace;
        log({
          method: request.method,
          path: url.slice(pathStart, queryStart === -1 ? undefined : queryStart),
          status: response.status,
          durationMs,
          userAgent: request.headers.get('user-agent') ?? undefined,
          ...(state
            ? {
                requestId: state.requestId,
                traceId: trace?.traceId,
                spanId: trace?.spanId,
                parentSpanId: trace?.parentSpanId,
                sampled: trace?.sampled,
                route: state.route,
                upstreamStatus: state.upstreamStatus,
                upstreamDurationMs: state.upstreamMs,
              }
            : {}),
          bytesSent,
          request,
          response,
        });
      } catch {
        // Logging is best effort.
      }
    };
    const bodyDone = requestStateOf(request)?.bodyDone;
    if (bodyDone) void bodyDone.then(write);
    else write(declaredLength(response));
    return response;
  };
}
