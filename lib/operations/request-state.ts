import type { Endpoint } from '../metrics/proxy-metrics.ts';
import type { TraceContext } from '../tracing/trace-context.ts';
import type { UpstreamOutcome } from '../upstream/fetch.ts';

/**
 * What the operations layer learns about one request while it is handled: its ids, its route,
 * the upstream's answer. Kept beside the request (a WeakMap, so nothing outlives it) and read by
 * the upstream observer (to propagate the trace) and the request log.
 */
export interface RequestState {
  requestId: string | undefined;
  trace: TraceContext | undefined;
  /** The route name, or `none` when no route serves the request. */
  route: string;
  endpoint: Endpoint;
  /** The last upstream exchange's status (or why there was none) and its time to headers. */
  upstreamStatus: UpstreamOutcome | undefined;
  upstreamMs: number | undefined;
  /** Resolves with the body bytes sent once the body has ended, when bodies are counted. */
  bodyDone: Promise<number> | undefined;
}

const STATES = new WeakMap<Request, RequestState>();

export function requestStateOf(request: Request): RequestState | undefined {
  return STATES.get(request);
}

export function setRequestState(request: Request, state: RequestState): void {
  STATES.set(request, state);
}
