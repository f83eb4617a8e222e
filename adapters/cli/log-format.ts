import type { RequestLogEntry } from '../../lib/request-log.ts';
import { jsonLine, requestLogFields } from '../log-entry.ts';

/** One access-log line: `GET /v2/… 200 1.2ms`, or the structured JSON entry. */
export function formatLogLine(entry: RequestLogEntry, format: 'text' | 'json'): string {
  if (format === 'text') return `${entry.method} ${entry.path} ${entry.status} ${entry.durationMs.toFixed(1)}ms\n`;
  return jsonLine(requestLogFields(entry));
}
