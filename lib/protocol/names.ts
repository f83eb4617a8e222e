import { MAX_REPOSITORY_NAME_LENGTH } from './reference.ts';

/**
 * Maps repository names between what clients see and what one upstream stores: a path prefix
 * that selects the upstream (`ghcr.io/owner/app`), Docker Hub's implicit `library/` for official
 * images, and a repository prefix (`app` ⇄ `my-project/my-repo/app`).
 */
export interface NameMapping {
  /** The upstream's name for a client's name, or `undefined` when the name is not this upstream's. */
  toUpstream(clientName: string): string | undefined;
  /** The client's name for an upstream name, or `undefined` when the name lies outside what the proxy exposes. */
  toClient(upstreamName: string): string | undefined;
  /** The name access rules see: path prefix removed, `library/` added, repository prefix not added. */
  canonical(clientName: string): string | undefined;
}

export interface NameMappingSettings {
  pathPrefix: string;
  officialImages: boolean;
  repositoryPrefix: string;
}

export function createNameMapping({ pathPrefix, officialImages, repositoryPrefix }: NameMappingSettings): NameMapping {
  const pathWithSlash = pathPrefix === '' ? '' : `${pathPrefix}/`;
  const prefixWithSlash = repositoryPrefix === '' ? '' : `${repositoryPrefix}/`;

  const canonical = (clientName: string): string | undefined => {
    if (!clientName.startsWith(pathWithSlash)) return undefined;
    const name = pathWithSlash === '' ? clientName : clientName.slice(pathWithSlash.length);
    if (name === '') return undefined;
    // The Docker client adds `library/` implicitly; a token for `repository:alpine:pull` is
    // issued with empty access and the pull then fails with 401 (upstreams.md DH-2).
    return officialImages && !name.includes('/') ? `library/${name}` : name;
  };

  return {
    canonical,
    toUpstream(clientName) {
      const name = canonical(clientName);
      return name === undefined ? undefined : prefixWithSlash + name;
    },
    toClient(upstreamName) {
      if (!upstreamName.startsWith(prefixWithSlash)) return undefined;
      let name = upstreamName.slice(prefixWithSlash.length);
      if (name === '') return undefined;
      if (officialImages && name.startsWith('library/') && name.indexOf('/', 8) === -1) name = name.slice(8);
      return pathWithSlash + name;
    },
  };
}

/** True when the mapped name still fits the length limit registries and clients enforce. */
export function fitsNameLimit(upstreamName: string): boolean {
  return upstreamName.length <= MAX_REPOSITORY_NAME_LENGTH;
}
