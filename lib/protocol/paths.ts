import type { NameMapping } from './names.ts';

const REGISTRY_PATH = /^\/v2\/(.+)\/(manifests|blobs|tags|referrers)\/(.*)$/;

/** A `/v2/<name>/<kind>/<rest>` registry API path, split; the name is greedy, as names hold slashes. */
export interface RegistryPath {
  name: string;
  kind: 'manifests' | 'blobs' | 'tags' | 'referrers';
  /** What follows the kind: a reference, a digest, `list`, an upload id… */
  rest: string;
}

export function parseRegistryPath(path: string): RegistryPath | undefined {
  const match = REGISTRY_PATH.exec(path);
  return match ? { name: match[1]!, kind: match[2] as RegistryPath['kind'], rest: match[3]! } : undefined;
}

/** Rewrites an upstream `/v2/<name>/…` path to the client's name, or `undefined` when the name is not exposed. */
function registryPathToClient(path: string, names: NameMapping): string | undefined {
  const parsed = parseRegistryPath(path);
  if (!parsed) return path === '/v2/' || path === '/v2' ? path : undefined;
  const clientName = names.toClient(parsed.name);
  return clientName === undefined ? undefined : `/v2/${clientName}/${parsed.kind}/${parsed.rest}`;
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
