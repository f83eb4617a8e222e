import type { IncomingMessage, ServerResponse } from 'node:http';

/** `host[:port]`: a registered name or an IP literal, as RFC 9110 §7.2 allows in `Host`. */
const HOST_HEADER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{1,5})?$/;

/**
 * Prepares a Node request for the fetch adapter, which builds the request URL from `Host` and
 * the target and cannot take either when they are unusual. The absolute form
 * (`GET http://host/v2/ HTTP/1.1`, which RFC 9112 §3.2.2 requires servers to accept) becomes
 * the origin form with the target's authority as `Host`. Anything else that is no URL — a
 * malformed `Host`, `OPTIONS *` — is answered here with a 400 OCI error, since it is the
 * client's mistake, not a proxy failure. Returns whether the request may go on.
 */
export function acceptRequestTarget(req: IncomingMessage, res: ServerResponse): boolean {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) {
    let absolute: URL | undefined;
    try {
      absolute = /^https?:\/\//i.test(target) ? new URL(target) : undefined;
    } catch {
      // not a URL: refused below
    }
    if (!absolute) return refuse(res, 'the request target must be a path or an absolute http URL');
    req.url = absolute.pathname + absolute.search;
    req.headers.host = absolute.host;
  }
  const host = req.headers.host;
  if (host !== undefined && (!HOST_HEADER.test(host) || !URL.canParse(`http://${host}/`))) {
    return refuse(res, 'the Host header is not a valid host');
  }
  return true;
}

function refuse(res: ServerResponse, message: string): false {
  const body = JSON.stringify({ errors: [{ code: 'UNSUPPORTED', message, detail: null }] }) + '\n';
  res.writeHead(400, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'docker-distribution-api-version': 'registry/2.0',
    connection: 'close',
  });
  res.end(body);
  return false;
}
