import type { RequestLogEntry } from '../../lib/request-log.ts';
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
 * Reads `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` (the span id is decimal there), or
 * W3C `traceparent: 00-TRACE_ID-SPAN_ID-FLAGS`, which Cloud Run also sends.
 */
export function parseTraceContext(headers: Headers): TraceContext | undefined {
  const cloud = /^([0-9a-f]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?/i.exec(headers.get('x-cloud-trace-context') ?? '');
  if (cloud) {
    let spanId: string | undefined;
    if (cloud[2]) {
      const span = BigInt(cloud[2]);
      if (span > 0n && span < 2n ** 64n) spanId = span.toString(16).padStart(16, '0');
    }
    return { traceId: cloud[1]!.toLowerCase(), spanId, sampled: cloud[3] === undefined ? undefined : cloud[3] === '1' };
  }
  const w3c = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/i.exec(headers.get('traceparent')?.trim() ?? '');
  if (w3c) {
    return { traceId: w3c[1]!.toLowerCase(), spanId: w3c[2]!.toLowerCase(), sampled: (parseInt(w3c[3]!, 16) & 1) === 1 };
  }
  return undefined;
}

/** The trace fields of a log entry; empty without a project id, which the trace name needs. */
function traceFields(headers: Headers, projectId: string | undefined): Record<string, unknown> {
  const trace = projectId ? parseTraceContext(headers) : undefined;
  if (!trace) return {};
  return {
    'logging.googleapis.com/trace': `projects/${projectId}/traces/${trace.traceId}`,
    ...(trace.spanId ? { 'logging.googleapis.com/spanId': trace.spanId } : {}),
    ...(trace.sampled !== undefined ? { 'logging.googleapis.com/trace_sampled': trace.sampled } : {}),
  };
}

/** The access-log entry of one request, linked to its trace. */
export function cloudRequestEntry(entry: RequestLogEntry, projectId: string | undefined): Record<string, unknown> {
  return { ...requestLogFields(entry), ...traceFields(entry.request.headers, projectId) };
}

/** An error entry, correlated with its request's trace when there is one. */
export function cloudErrorEntry(error: unknown, request: Request | undefined, projectId: string | undefined): Record<string, unknown> {
  const message = error instanceof Error ? error.message : String(error);
  let path: string | undefined;
  if (request) path = new URL(request.url).pathname;
  return {
    severity: 'ERROR',
    message: path ? `${request!.method} ${path}: ${message}` : message,
    ...(request ? traceFields(request.headers, projectId) : {}),
  };
}
