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
      ...(size !== null && /^\d+$/.test(size) ? { responseSize: size } : {}),
      latency: `${(entry.durationMs / 1000).toFixed(6)}s`,
    },
  };
}

/** One JSON object a line. */
export function jsonLine(entry: Record<string, unknown>): string {
  return `${JSON.stringify(entry)}\n`;
}
