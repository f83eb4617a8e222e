import type { NameMapping } from './names.ts';

/** Error bodies larger than this are passed through unread: real OCI errors are a few hundred bytes. */
const MAX_REWRITTEN_ERROR_BYTES = 64 * 1024;

export function isRewritableErrorBody(response: Response): boolean {
  if (response.status < 400 || response.body === null) return false;
  const type = response.headers.get('content-type') ?? '';
  if (!type.includes('json')) return false;
  const length = Number(response.headers.get('content-length') ?? '0');
  return length <= MAX_REWRITTEN_ERROR_BYTES;
}

/**
 * Maps repository names inside an upstream OCI error's `detail` (Docker Hub's
 * `[{"Type":"repository","Name":"library/mongo",…}]`, distribution's `{"name":…}`), so an
 * upstream prefix does not leak. A body that is not an OCI error is returned unchanged.
 */
export async function rewriteErrorBody(response: Response, names: NameMapping): Promise<string> {
  const text = await response.text();
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
