import type { ProxyContext } from './context.ts';
import { OciError } from './errors.ts';
import { clientResponseHeaders } from './headers.ts';
import { mapScopeList, scopeToUpstream } from './scope.ts';
import { fetchUpstream } from './upstream-fetch.ts';

/** An OAuth2 token form is a few hundred bytes; anything far larger is not one. */
const MAX_FORM_BYTES = 64 * 1024;

const FORWARDED_TOKEN_HEADERS = ['authorization', 'user-agent', 'accept'];

/**
 * The proxy's token endpoint, which rewritten challenges point clients at. It forwards to the
 * realm the upstream announced, with every scope mapped to upstream names: repeated GET `scope`
 * parameters (containerd), space-separated scopes, the OAuth2 POST form (containerd with
 * credentials), and an empty or missing scope (`docker login`, Harbor). The client's own
 * `Authorization` passes through; the token response comes back unchanged.
 */
export async function handleTokenRequest(context: ProxyContext, request: Request): Promise<Response> {
  if (context.authenticator) {
    throw new OciError(404, 'UNSUPPORTED', 'this proxy authenticates to its upstream itself; no token is needed');
  }
  const mapScopes = (list: string) => mapScopeList(list, (scope) => scopeToUpstream(scope, context.names));

  // Map (and so validate) every scope before anything is sent upstream.
  const headers = new Headers();
  for (const name of FORWARDED_TOKEN_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const params = new URLSearchParams();
  let body: string | null = null;
  if (request.method === 'POST') {
    const form = new URLSearchParams(await readLimitedText(request));
    const scope = form.get('scope');
    if (scope !== null) form.set('scope', mapScopes(scope));
    body = form.toString();
    headers.set('content-type', 'application/x-www-form-urlencoded');
  } else {
    for (const [name, value] of new URL(request.url).searchParams) {
      if (name !== 'scope') params.append(name, value);
      else {
        const mapped = mapScopes(value);
        if (mapped) params.append('scope', mapped);
      }
    }
  }

  const realm = await context.tokenRealm.realm();
  if (!realm) {
    throw new OciError(404, 'UNSUPPORTED', 'the upstream registry does not use token authentication');
  }
  const url = new URL(realm.realm);
  for (const [name, value] of params) url.searchParams.append(name, value);

  const response = await fetchUpstream(
    { fetch: context.options.fetch, headersTimeout: context.options.headersTimeout },
    url,
    { method: request.method, headers, body, signal: request.signal },
  );
  const responseHeaders = clientResponseHeaders(response.headers);
  responseHeaders.delete('location'); // a token server has no business sending clients elsewhere
  responseHeaders.delete('www-authenticate');
  responseHeaders.set('cache-control', 'no-store');
  return new Response(request.method === 'HEAD' ? null : response.body, {
    status: response.status,
    statusText: response.statusText,
    headers: responseHeaders,
  });
}

async function readLimitedText(request: Request): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_FORM_BYTES) {
    throw new OciError(413, 'SIZE_INVALID', `token request body over ${MAX_FORM_BYTES} bytes`);
  }
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_FORM_BYTES) {
      await reader.cancel();
      throw new OciError(413, 'SIZE_INVALID', `token request body over ${MAX_FORM_BYTES} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
