import type { RequestLogEntry } from '../../lib/request-log.ts';

/** What the operations layer adds to a line: route, upstream answer, bytes, ids (only what is known). */
function operationsFields(entry: RequestLogEntry): Record<string, string | number> {
  const fields: Record<string, string | number> = {};
  if (entry.route !== undefined) fields.route = entry.route;
  if (entry.upstreamStatus !== undefined) fields.upstream = entry.upstreamStatus;
  if (entry.upstreamDurationMs !== undefined) fields.upstreamMs = Number(entry.upstreamDurationMs.toFixed(1));
  if (entry.bytesSent !== undefined) fields.bytes = entry.bytesSent;
  if (entry.traceId !== undefined) fields.trace = entry.traceId;
  if (entry.requestId !== undefined) fields.requestId = entry.requestId;
  return fields;
}

/** One access-log line. JSON lines carry what Cloud Logging reads (`severity`, `httpRequest`). */
export function formatLogLine(entry: RequestLogEntry, format: 'text' | 'json'): string {
  const latency = entry.durationMs.toFixed(1);
  const fields = operationsFields(entry);
  if (format === 'text') {
    const extra = Object.entries(fields).map(([name, value]) => ` ${name}=${value}`).join('');
    return `${entry.method} ${entry.path} ${entry.status} ${latency}ms${extra}\n`;
  }
  return `${JSON.stringify({
    severity: entry.status >= 500 ? 'ERROR' : entry.status >= 400 ? 'WARNING' : 'INFO',
    message: `${entry.method} ${entry.path} ${entry.status}`,
    httpRequest: {
      requestMethod: entry.method,
      requestUrl: entry.path,
      status: entry.status,
      userAgent: entry.userAgent,
      ...(entry.bytesSent !== undefined ? { responseSize: String(entry.bytesSent) } : {}),
      latency: `${(entry.durationMs / 1000).toFixed(6)}s`,
    },
    ...fields,
  })}\n`;
}
