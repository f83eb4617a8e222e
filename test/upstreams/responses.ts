/** Response builders shared by the mock registries and CDNs. */
import { ociErrorBody, type OciErrorEntry } from './fixtures.ts';

export type HeaderMap = Record<string, string>;

const encoder = new TextEncoder();

/** A response whose Content-Length is the real byte length of `body`; HEAD keeps the headers and drops the body. */
export function sized(
  request: Request,
  status: number,
  body: string | Uint8Array,
  headers: HeaderMap,
  statusText?: string,
): Response {
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  const all = new Headers(headers);
  all.set('content-length', String(bytes.byteLength));
  const init: ResponseInit = { status, headers: all, ...(statusText ? { statusText } : {}) };
  const noBody = request.method === 'HEAD' || status === 204 || status === 304;
  return new Response(noBody ? null : (bytes as Uint8Array<ArrayBuffer>), init);
}

export function ociError(
  request: Request,
  status: number,
  errors: OciErrorEntry[],
  headers: HeaderMap = {},
  options: { contentType?: string; trailingNewline?: boolean } = {},
): Response {
  return sized(request, status, ociErrorBody(errors, options.trailingNewline ?? true), {
    'content-type': options.contentType ?? 'application/json',
    ...headers,
  });
}

/** Go's default mux answer for an unknown route. */
export function goNotFound(request: Request, headers: HeaderMap = {}): Response {
  return sized(request, 404, '404 page not found\n', {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
}

export function redirect(status: 301 | 302 | 307, location: string, body: string, headers: HeaderMap, statusText?: string): Response {
  const bytes = encoder.encode(body);
  return new Response(bytes.byteLength > 0 ? bytes : null, {
    status,
    ...(statusText ? { statusText } : {}),
    headers: { ...headers, location, 'content-length': String(bytes.byteLength) },
  });
}

export interface ByteRange {
  start: number;
  end: number;
}

/** Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range. `null`: no usable Range; `'unsatisfiable'`: 416. */
export function parseRange(header: string | null, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multi-range and malformed values: Go's ServeContent answers the whole body for the latter; we do too.
  if (!match) return null;
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return null;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  if (start >= size) return 'unsatisfiable';
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (end < start) return null;
  return { start, end };
}

/** Serves bytes like Go's http.ServeContent / a CDN: `Accept-Ranges`, 206 with `Content-Range`, 416. */
export function serveBytes(request: Request, bytes: Uint8Array, headers: HeaderMap): Response {
  const range = parseRange(request.headers.get('range'), bytes.byteLength);
  if (range === 'unsatisfiable') {
    return sized(request, 416, '', { ...headers, 'content-range': `bytes */${bytes.byteLength}` });
  }
  const base = { ...headers, 'accept-ranges': 'bytes' };
  if (range === null) return sized(request, 200, bytes, base);
  return sized(request, 206, bytes.subarray(range.start, range.end + 1), {
    ...base,
    'content-range': `bytes ${range.start}-${range.end}/${bytes.byteLength}`,
  });
}

export function json(request: Request, status: number, value: unknown, headers: HeaderMap = {}, newline = true): Response {
  return sized(request, status, JSON.stringify(value) + (newline ? '\n' : ''), { 'content-type': 'application/json', ...headers });
}
