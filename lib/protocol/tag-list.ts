import { readCappedText } from './capped-read.ts';
import { OciError } from './errors.ts';

/** Tag lists run to thousands of entries (Docker Hub's calico/node: 8,225); far beyond that is not a tag list. */
const MAX_TAG_LIST_BYTES = 8 * 1024 * 1024;

/**
 * Rewrites a `tags/list` response for the client: its `name` becomes the client's name (the
 * upstream's would reveal the prefix), and tags the access rules refuse are not even listed.
 * Anything that is not a successful JSON tag list passes through untouched.
 */
export async function rewriteTagList(
  response: Response,
  clientName: string,
  allowsTag: ((tag: string) => boolean) | undefined,
  idleMs: number,
): Promise<Response> {
  if (response.status !== 200 || response.body === null) return response;
  const text = await readCappedText(response.body, MAX_TAG_LIST_BYTES, idleMs, 'tag list');
  // Passed on unread, it would show the upstream's name (and every tag the rules refuse).
  if (text === undefined) throw new OciError(502, 'UPSTREAM_INVALID', `the upstream's tag list is over ${MAX_TAG_LIST_BYTES} bytes`);
  let body: { name?: unknown; tags?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return new Response(text, response);
  }
  if (typeof body.name === 'string') body.name = clientName;
  if (allowsTag && Array.isArray(body.tags)) body.tags = body.tags.filter((tag) => typeof tag === 'string' && allowsTag(tag));
  const filtered = JSON.stringify(body);
  const headers = new Headers(response.headers);
  headers.set('content-length', String(new TextEncoder().encode(filtered).byteLength));
  return new Response(filtered, { status: response.status, statusText: response.statusText, headers });
}
