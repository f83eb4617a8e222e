import { createNameMapping, type NameMapping } from './names.ts';
import type { ResolvedOptions } from './options.ts';
import { TokenRealmDiscovery } from './token-realm.ts';
import { UpstreamAuthenticator } from './upstream-auth.ts';

/** Everything a request handler needs, built once per proxy. */
export interface ProxyContext {
  options: ResolvedOptions;
  names: NameMapping;
  upstreamOrigin: string;
  /** Present when the proxy holds upstream credentials and does the token dance itself. */
  authenticator: UpstreamAuthenticator | undefined;
  /** Where client token requests are forwarded when the proxy holds no credentials. */
  tokenRealm: TokenRealmDiscovery;
}

export function createContext(options: ResolvedOptions): ProxyContext {
  const settings = { fetch: options.fetch, headersTimeout: options.headersTimeout };
  return {
    options,
    names: createNameMapping(options.repositoryPrefix, options.isDockerHub),
    upstreamOrigin: options.upstream.origin,
    authenticator: options.credentials ? new UpstreamAuthenticator(options.credentials, settings) : undefined,
    tokenRealm: new TokenRealmDiscovery(options.upstream, settings),
  };
}

/** The proxy's own origin as clients reach it, for URLs it hands out (the token realm). */
export function publicOrigin(context: ProxyContext, request: Request): string {
  const { publicUrl, trustForwardedHeaders } = context.options;
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
