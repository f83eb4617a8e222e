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
): Promise<Response> {
  const length = Number(response.headers.get('content-length') ?? '0');
  if (response.status !== 200 || response.body === null || length > MAX_TAG_LIST_BYTES) return response;
  const text = await response.text();
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
