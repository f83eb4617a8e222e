/** A single byte range `[start, end)` of content of a known size, as RFC 9110 §14 reads `Range`. */
export type ByteRange = { start: number; end: number };

/**
 * `undefined`: serve the whole content (no Range, several ranges, or another unit — the RFC lets
 * a server ignore those); `'unsatisfiable'`: answer 416.
 */
export function parseRange(header: string | null, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === null) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || last < start) return 'unsatisfiable';
  return { start, end: last + 1 };
}
