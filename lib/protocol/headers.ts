/** Request headers a registry needs; everything else (cookies, Host, X-Forwarded-*, hop-by-hop) stays here. */
const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'range',
  'if-range',
  'if-none-match',
  'if-match',
  'if-modified-since',
  'user-agent',
  'content-type',
  'content-length',
  'content-range',
];

/**
 * Response headers never passed back: hop-by-hop ones (RFC 9110 §7.6.1), ones that describe
 * the upstream's domain rather than ours (HSTS, cookies, Alt-Svc), and Docker Hub's
 * `Docker-Ratelimit-Source`, which reveals the proxy's egress address.
 */
const DROPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'strict-transport-security',
  'set-cookie',
  'alt-svc',
  'docker-ratelimit-source',
]);

/** Copies the named headers that are present. */
export function pickHeaders(incoming: Headers, names: readonly string[]): Headers {
  const headers = new Headers();
  for (const name of names) {
    const value = incoming.get(name);
    if (value !== null) headers.set(name, value);
  }
  return headers;
}

/** Builds the upstream request's headers from the client's, without its credentials. */
export function upstreamRequestHeaders(incoming: Headers): Headers {
  const headers = pickHeaders(incoming, FORWARDED_REQUEST_HEADERS);
  // Bodies are relayed byte for byte (digests, Content-Length); fetch would otherwise decode them.
  headers.set('accept-encoding', 'identity');
  return headers;
}

/**
 * Copies the upstream's response headers that may reach the client. `decodedByFetch`: the body
 * came through a fetch that decodes `Content-Encoding` itself (undici, Deno, Bun do).
 */
export function clientResponseHeaders(upstream: Headers, decodedByFetch = true): Headers {
  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (!DROPPED_RESPONSE_HEADERS.has(name)) headers.append(name, value);
  }
  const encoding = headers.get('content-encoding');
  if (decodedByFetch && encoding !== null && encoding !== 'identity') {
    // fetch decoded the body despite `accept-encoding: identity`: these no longer describe it.
    headers.delete('content-encoding');
    headers.delete('content-length');
  }
  return headers;
}
