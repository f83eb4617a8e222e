import type { NameMapping } from './names.ts';

const REGISTRY_PATH = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/(.*)$/;

/** Rewrites an upstream `/v2/<name>/…` path to the client's name, or `undefined` when the name is not exposed. */
export function registryPathToClient(path: string, names: NameMapping): string | undefined {
  const match = REGISTRY_PATH.exec(path);
  if (!match) return path === '/v2/' || path === '/v2' ? path : undefined;
  const clientName = names.toClient(match[1]!);
  return clientName === undefined ? undefined : `/v2/${clientName}/${match[2]}/${match[3]}`;
}

/**
 * Rewrites a URL the upstream sent (a `Location` or `Link` target) for the client. One on the
 * upstream's own registry API becomes a path on the proxy with the client's name; anything else
 * becomes absolute, so a relative Artifact Registry `/artifacts-downloads/…` is not resolved
 * against the proxy's host (serverless-registry-proxy#4).
 */
export function upstreamUrlToClient(value: string, base: URL, upstreamOrigin: string, names: NameMapping): string {
  let target: URL;
  try {
    target = new URL(value, base);
  } catch {
    return value;
  }
  if (target.origin === upstreamOrigin && target.pathname.startsWith('/v2/')) {
    const clientPath = registryPathToClient(target.pathname, names);
    if (clientPath !== undefined) return clientPath + target.search;
  }
  return target.href;
}

const LINK_TARGET = /<([^>]*)>/g;

/** Rewrites every target of a `Link` header (tags and referrers pagination). */
export function rewriteLinkHeader(value: string, base: URL, upstreamOrigin: string, names: NameMapping): string {
  return value.replace(LINK_TARGET, (_, target: string) => `<${upstreamUrlToClient(target, base, upstreamOrigin, names)}>`);
}
