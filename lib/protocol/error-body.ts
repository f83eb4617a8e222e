import { ociErrorResponse } from './errors.ts';
import type { NameMapping } from './names.ts';

/** Error bodies larger than this are not rewritten: real OCI errors are a few hundred bytes. */
export const MAX_REWRITTEN_ERROR_BYTES = 64 * 1024;

/** An upstream JSON error the proxy reads to map names in (see `rewriteErrorText`). */
export function isRewritableErrorBody(response: Response): boolean {
  if (response.status < 400 || response.body === null) return false;
  const type = response.headers.get('content-type') ?? '';
  return type.includes('json');
}

/** What the client gets instead of an upstream error body too large to be an OCI error. */
export function oversizedErrorResponse(status: number, headers: Headers): Response {
  const response = ociErrorResponse(status, 'UNKNOWN', `the upstream's error body was over ${MAX_REWRITTEN_ERROR_BYTES} bytes`, { status });
  for (const [name, value] of headers) if (!response.headers.has(name) && name !== 'content-length') response.headers.set(name, value);
  return response;
}

/**
 * Maps repository names inside an upstream OCI error's `detail` (Docker Hub's
 * `[{"Type":"repository","Name":"library/mongo",…}]`, distribution's `{"name":…}`), so an
 * upstream prefix does not leak. A body that is not an OCI error is returned unchanged.
 */
export function rewriteErrorText(text: string, names: NameMapping): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  const errors = (parsed as { errors?: unknown })?.errors;
  if (!Array.isArray(errors)) return text;
  for (const error of errors) {
    if (error && typeof error === 'object' && 'detail' in error) {
      (error as { detail: unknown }).detail = mapNames((error as { detail: unknown }).detail, names);
    }
  }
  return JSON.stringify(parsed) + '\n';
}

function mapNames(value: unknown, names: NameMapping): unknown {
  if (Array.isArray(value)) return value.map((item) => mapNames(item, names));
  if (value === null || typeof value !== 'object') return value;
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    result[key] =
      (key === 'Name' || key === 'name') && typeof item === 'string' ? (names.toClient(item) ?? item) : mapNames(item, names);
  }
  return result;
}
