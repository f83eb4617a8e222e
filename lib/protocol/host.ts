// The proxy's own host and origin as a client addressed it, from the request alone.

/** The request's host without port, lower-cased, as routes name hosts. */
export function requestHost(request: Request, url: URL, trustForwardedHeaders: boolean): string {
  const forwarded = trustForwardedHeaders ? firstValue(request.headers.get('x-forwarded-host')) : undefined;
  const host = forwarded ?? url.host;
  return (host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!).toLowerCase();
}

/** The proxy's own origin as clients reach it, for URLs it hands out (the token realm). */
export function publicOrigin(request: Request, publicUrl: URL | undefined, trustForwardedHeaders: boolean): string {
  if (publicUrl) return publicUrl.origin;
  const url = new URL(request.url);
  if (trustForwardedHeaders) {
    const proto = firstValue(request.headers.get('x-forwarded-proto'));
    const host = firstValue(request.headers.get('x-forwarded-host'));
    const protocol = proto === 'http' || proto === 'https' ? proto : url.protocol.slice(0, -1);
    if (host && /^[A-Za-z0-9.\-:[\]]+$/.test(host)) return `${protocol}://${host}`;
    return `${protocol}://${url.host}`;
  }
  return url.origin;
}

function firstValue(header: string | null): string | undefined {
  return header?.split(',')[0]?.trim() || undefined;
}
