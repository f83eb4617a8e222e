import type { RequestLogEntry } from '../../lib/request-log.ts';
import { jsonLine, requestLogFields } from '../log-entry.ts';

/**
 * One access-log line: `GET /v2/… 200 1.2ms`, then what the operations layer knows (route,
 * upstream answer, bytes, trace and request ids), or the structured JSON entry.
 */
export function formatLogLine(entry: RequestLogEntry, format: 'text' | 'json'): string {
  if (format === 'json') return jsonLine(requestLogFields(entry));
  let line = `${entry.method} ${entry.path} ${entry.status} ${entry.durationMs.toFixed(1)}ms`;
  if (entry.route !== undefined) line += ` route=${entry.route}`;
  if (entry.upstreamStatus !== undefined) line += ` upstream=${entry.upstreamStatus}`;
  if (entry.upstreamDurationMs !== undefined) line += ` upstreamMs=${entry.upstreamDurationMs.toFixed(1)}`;
  if (entry.bytesSent !== undefined) line += ` bytes=${entry.bytesSent}`;
  if (entry.traceId !== undefined) line += ` trace=${entry.traceId}`;
  if (entry.requestId !== undefined) line += ` requestId=${entry.requestId}`;
  return `${line}\n`;
}
