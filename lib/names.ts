import { MAX_REPOSITORY_NAME_LENGTH } from './reference.ts';

/**
 * Maps repository names between what clients see and what the upstream stores: a prefix
 * (`app` ⇄ `my-project/my-repo/app`) and Docker Hub's implicit `library/` for official images.
 */
export interface NameMapping {
  /** The upstream's name for a client's name. */
  toUpstream(name: string): string;
  /** The client's name for an upstream name, or `undefined` when the name lies outside what the proxy exposes. */
  toClient(upstreamName: string): string | undefined;
}

export function createNameMapping(prefix: string, isDockerHub: boolean): NameMapping {
  if (prefix !== '') {
    const withSlash = `${prefix}/`;
    return {
      toUpstream: (name) => withSlash + name,
      toClient: (upstreamName) => (upstreamName.startsWith(withSlash) ? upstreamName.slice(withSlash.length) : undefined),
    };
  }
  if (isDockerHub) {
    // The Docker client adds `library/` implicitly; a token for `repository:alpine:pull` is
    // issued with empty access and the pull then fails with 401 (upstreams.md DH-2).
    return {
      toUpstream: (name) => (name.includes('/') ? name : `library/${name}`),
      toClient: (upstreamName) =>
        upstreamName.startsWith('library/') && upstreamName.indexOf('/', 8) === -1 ? upstreamName.slice(8) : upstreamName,
    };
  }
  return { toUpstream: (name) => name, toClient: (upstreamName) => upstreamName };
}

/** True when the mapped name still fits the length limit registries and clients enforce. */
export function fitsNameLimit(upstreamName: string): boolean {
  return upstreamName.length <= MAX_REPOSITORY_NAME_LENGTH;
}
