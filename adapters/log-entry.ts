import type { RequestLogEntry } from '../lib/request-log.ts';

/**
 * The structured access-log entry every JSON log writes (the CLI's `--log json`, Cloud Run's
 * Cloud Logging lines): the field names Cloud Logging lifts into its LogEntry (`severity`,
 * `httpRequest`), which other log stores read as plain JSON. Path only, never the query or
 * headers, so no credential can reach a log.
 */
export function requestLogFields(entry: RequestLogEntry): Record<string, unknown> {
  const size = entry.response.headers.get('content-length');
  return {
    severity: entry.status >= 500 ? 'ERROR' : entry.status >= 400 ? 'WARNING' : 'INFO',
    message: `${entry.method} ${entry.path} ${entry.status}`,
    httpRequest: {
      requestMethod: entry.method,
      requestUrl: entry.path,
      status: entry.status,
      ...(entry.userAgent ? { userAgent: entry.userAgent } : {}),
      ...(entry.bytesSent !== undefined ? { responseSize: String(entry.bytesSent) } : size !== null && /^\d+$/.test(size) ? { responseSize: size } : {}),
      latency: `${(entry.durationMs / 1000).toFixed(6)}s`,
    },
    // What the operations layer knows (lib/operations): present only when it is on.
    ...(entry.route !== undefined ? { route: entry.route } : {}),
    ...(entry.upstreamStatus !== undefined ? { upstreamStatus: entry.upstreamStatus } : {}),
    ...(entry.upstreamDurationMs !== undefined ? { upstreamLatency: `${(entry.upstreamDurationMs / 1000).toFixed(6)}s` } : {}),
    ...(entry.requestId !== undefined ? { requestId: entry.requestId } : {}),
    ...(entry.traceId !== undefined ? { traceId: entry.traceId } : {}),
  };
}

/** One JSON object a line. */
export function jsonLine(entry: Record<string, unknown>): string {
  return `${JSON.stringify(entry)}\n`;
}
