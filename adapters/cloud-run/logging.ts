import type { RequestLogEntry } from '../../lib/request-log.ts';
import { readIncomingTrace } from '../../lib/tracing/trace-context.ts';
import { requestLogFields } from '../log-entry.ts';

/**
 * Cloud Logging's structured-log format: one JSON object a line on stdout/stderr, with the
 * special fields it lifts into the LogEntry (`severity`, `httpRequest`,
 * `logging.googleapis.com/trace`, `…/spanId`, `…/trace_sampled`). Entries carry the request's
 * path only, never its query or headers, so no credential can reach the log.
 */

export interface TraceContext {
  /** 32 hex digits. */
  traceId: string;
  /** 16 hex digits, as Cloud Logging wants it. */
  spanId: string | undefined;
  sampled: boolean | undefined;
}

/**
 * The caller's trace, as the proxy reads it for every request (lib/tracing: W3C `traceparent`,
 * else `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1`, its decimal span id made 16 hex digits).
 */
export function parseTraceContext(headers: Headers): TraceContext | undefined {
  const trace = readIncomingTrace(headers);
  return trace && { traceId: trace.traceId, spanId: trace.parentSpanId, sampled: trace.sampled };
}

/**
 * The trace fields of a log entry; empty without a project id, which the trace name needs. The
 * span is the caller's (Cloud Run's own span), which Cloud Trace knows; the proxy's span is not
 * exported.
 */
function traceFields(trace: TraceContext | undefined, projectId: string | undefined): Record<string, unknown> {
  if (!trace || !projectId) return {};
  return {
    'logging.googleapis.com/trace': `projects/${projectId}/traces/${trace.traceId}`,
    ...(trace.spanId ? { 'logging.googleapis.com/spanId': trace.spanId } : {}),
    ...(trace.sampled !== undefined ? { 'logging.googleapis.com/trace_sampled': trace.sampled } : {}),
  };
}

/** The request's trace as the proxy saw it (the same one it sent upstream), else read from its headers. */
function traceOf(entry: RequestLogEntry): TraceContext | undefined {
  if (entry.traceId) return { traceId: entry.traceId, spanId: entry.parentSpanId, sampled: entry.sampled };
  return parseTraceContext(entry.request.headers);
}

/** The access-log entry of one request, linked to its trace. */
export function cloudRequestEntry(entry: RequestLogEntry, projectId: string | undefined): Record<string, unknown> {
  return { ...requestLogFields(entry), ...traceFields(traceOf(entry), projectId) };
}

/** An error entry, correlated with its request's trace when there is one. */
export function cloudErrorEntry(error: unknown, request: Request | undefined, projectId: string | undefined): Record<string, unknown> {
  const message = error instanceof Error ? error.message : String(error);
  let path: string | undefined;
  if (request) path = new URL(request.url).pathname;
  return {
    severity: 'ERROR',
    message: path ? `${request!.method} ${path}: ${message}` : message,
    ...(request ? traceFields(parseTraceContext(request.headers), projectId) : {}),
  };
}
