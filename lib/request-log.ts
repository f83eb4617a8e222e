import type { FetchHandler } from './handler.ts';
import { requestStateOf } from './operations/request-state.ts';

/** One finished request, as adapters log it. Carries no headers, so never a credential. */
export interface RequestLogEntry {
  method: string;
  /** Path only: query strings of token requests name accounts. */
  path: string;
  status: number;
  /** Milliseconds until the response headers were ready (bodies stream on afterwards). */
  durationMs: number;
  userAgent: string | undefined;
  /** `X-Request-Id` as received or generated (and echoed), when tracing is on. */
  requestId?: string;
  /** The W3C trace id (32 hex digits), continued from the caller or started here. */
  traceId?: string;
  /** The proxy's span id for this request, and the caller's span it continues. */
  spanId?: string;
  parentSpanId?: string;
  sampled?: boolean;
  /** The route that served the request (`none` when none did). */
  route?: string;
  /** The last upstream exchange's status (or `error`, `timeout`, `cancelled`) and its time to headers. */
  upstreamStatus?: number | string;
  upstreamDurationMs?: number;
  /**
   * Body bytes sent: counted as the body streamed when metrics or byte limits are on (the entry
   * is then written when the body ends), else the `Content-Length` the response declared.
   */
  bytesSent?: number;
  request: Request;
  response: Response;
}

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
