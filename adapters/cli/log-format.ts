import type { RequestLogEntry } from '../../lib/request-log.ts';

/** One access-log line. JSON lines carry what Cloud Logging reads (`severity`, `httpRequest`). */
export function formatLogLine(entry: RequestLogEntry, format: 'text' | 'json'): string {
  const latency = entry.durationMs.toFixed(1);
  if (format === 'text') return `${entry.method} ${entry.path} ${entry.status} ${latency}ms\n`;
  return `${JSON.stringify({
    severity: entry.status >= 500 ? 'ERROR' : entry.status >= 400 ? 'WARNING' : 'INFO',
    message: `${entry.method} ${entry.path} ${entry.status}`,
    httpRequest: {
      requestMethod: entry.method,
      requestUrl: entry.path,
      status: entry.status,
      userAgent: entry.userAgent,
      latency: `${(entry.durationMs / 1000).toFixed(6)}s`,
    },
  })}\n`;
}
