/**
 * The distribution-like core every mock registry shares: routing of the pull API, Accept
 * negotiation, manifest/blob/tags/referrers handlers and error bodies, after
 * distribution/distribution `registry/handlers/*.go` (upstreams.md section 8). Registry
 * factories supply what differs: authorization, redirects, headers, messages.
 */
import { MediaType, type Content, type Repository, type RegistryStore } from './images.ts';
import { goNotFound, json, ociError, serveBytes, sized, type HeaderMap } from './responses.ts';
import type { OciErrorEntry } from './fixtures.ts';

/** What a request needs, as distribution's access controller computes it (section 8). */
export type Need =
  | { kind: 'ping' }
  | { kind: 'catalog' }
  | { kind: 'repository'; name: string; actions: string[] };

export function needScope(need: Need): string | undefined {
  if (need.kind === 'catalog') return 'registry:catalog:*';
  if (need.kind === 'repository') return `repository:${need.name}:${need.actions.join(',')}`;
  return undefined;
}

export interface DistributionBehaviour {
  store: RegistryStore;
  /** Headers on every registry-host response (DDAV, STS, Server, …). */
  headers: HeaderMap;
  /** Content-Type of JSON error bodies. @default 'application/json' */
  errorContentType?: string;
  /** `distribution`: `{"Tag":…}` etc.; `none`: no `detail` key (GHCR); `empty`: `detail: {}` (Quay). */
  detailStyle?: 'distribution' | 'none' | 'empty';
  /** Returns a refusal, or undefined to let the request through. */
  authorize(request: Request, need: Need): Response | undefined | Promise<Response | undefined>;
  /** A GET (or HEAD) on a blob: return a redirect, or undefined to serve the bytes directly. */
  blobRedirect?(request: Request, repo: Repository, blob: Content): Response | undefined;
  /** `supported`: OCI 1.1 Referrers API; otherwise a function answering the unsupported case. */
  referrers: 'supported' | ((request: Request) => Response);
  /** `supported`: `/v2/_catalog`; otherwise how it is refused (after authorization). */
  catalog: 'supported' | ((request: Request) => Response);
  /** Page size when the client sends no `n` (GHCR: 100). @default all tags */
  tagsDefaultPage?: number;
  /** Builds the `Link` value for the next tags page. @default distribution's relative form */
  tagsLink?(name: string, last: string, n: number): string;
  messages?: { indexNotAccepted?: string; manifestNotAccepted?: string };
  /** Hook for manifest requests (Hub rate limits): a refusal, or headers to add. */
  onManifest?(request: Request): Response | HeaderMap | undefined;
}

/** distribution's tags Link: relative, keys sorted, `last` URL-encoded (section 8). */
export function distributionTagsLink(name: string, last: string, n: number): string {
  return `</v2/${name}/tags/list?last=${encodeURIComponent(last)}&n=${n}>; rel="next"`;
}

const ROUTES: { pattern: RegExp; route: 'manifests' | 'blobs' | 'tags' | 'referrers' }[] = [
  { pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/, route: 'manifests' },
  { pattern: /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/, route: 'blobs' },
  { pattern: /^\/v2\/(.+)\/tags\/list$/, route: 'tags' },
  { pattern: /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/, route: 'referrers' },
];

const NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;

/** Parses an Accept header (possibly repeated, fetch joins with ", ") into media types, ignoring q-values as distribution does. */
function acceptedTypes(request: Request): Set<string> {
  const types = new Set<string>();
  for (const part of (request.headers.get('accept') ?? '').split(',')) {
    const type = part.split(';')[0]?.trim().toLowerCase();
    if (type) types.add(type);
  }
  return types;
}

export function createDistribution(behaviour: DistributionBehaviour): (request: Request) => Promise<Response> {
  const headers = behaviour.headers;
  const detailStyle = behaviour.detailStyle ?? 'distribution';

  const error = (request: Request, status: number, code: string, message: string, detail?: unknown, extra: HeaderMap = {}) => {
    const entry: OciErrorEntry = { code, message };
    if (detailStyle === 'distribution' && detail !== undefined) entry.detail = detail;
    if (detailStyle === 'empty') entry.detail = {};
    return ociError(request, status, [entry], { ...headers, ...extra }, { contentType: behaviour.errorContentType ?? 'application/json' });
  };

  const manifest = (request: Request, repo: Repository | undefined, name: string, reference: string): Response => {
    const byDigest = reference.startsWith('sha256:');
    let found = repo?.manifest(reference);
    if (!found) {
      return byDigest
        ? error(request, 404, 'MANIFEST_UNKNOWN', 'manifest unknown', { Name: name, Revision: reference })
        : error(request, 404, 'MANIFEST_UNKNOWN', 'manifest unknown', { Tag: reference });
    }
    const hook = behaviour.onManifest?.(request);
    if (hook instanceof Response) return hook;
    const ifNoneMatch = request.headers.get('if-none-match');
    if (ifNoneMatch === found.digest || ifNoneMatch === `"${found.digest}"`) {
      return new Response(null, { status: 304, headers: { ...headers, ...hook } });
    }
    const accepts = acceptedTypes(request);
    if (found.mediaType === MediaType.ociManifest && !accepts.has(MediaType.ociManifest)) {
      const message = behaviour.messages?.manifestNotAccepted ?? 'OCI manifest found, but accept header does not support OCI manifests';
      return error(request, 404, 'MANIFEST_UNKNOWN', message);
    }
    if (found.mediaType === MediaType.ociIndex && !accepts.has(MediaType.ociIndex)) {
      const message = behaviour.messages?.indexNotAccepted ?? 'OCI index found, but accept header does not support OCI indexes';
      return error(request, 404, 'MANIFEST_UNKNOWN', message);
    }
    if (!byDigest && found.mediaType === MediaType.dockerList && !accepts.has(MediaType.dockerList)) {
      // Old clients asking by tag get the linux/amd64 image instead of the list.
      const list = JSON.parse(new TextDecoder().decode(found.bytes)) as {
        manifests: { digest: string; platform?: { os: string; architecture: string } }[];
      };
      const child = list.manifests.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
      const childManifest = child ? repo?.manifest(child.digest) : undefined;
      if (!childManifest) return error(request, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      if (!accepts.has(MediaType.dockerManifest)) {
        return error(request, 400, 'MANIFEST_INVALID', 'Schema 2 manifest not supported by client');
      }
      found = childManifest;
    }
    return sized(request, 200, found.bytes, {
      ...headers,
      ...hook,
      'content-type': found.mediaType,
      'docker-content-digest': found.digest,
      etag: `"${found.digest}"`,
    });
  };

  const blob = (request: Request, repo: Repository | undefined, digest: string): Response => {
    const found = repo?.blobs.get(digest as Content['digest']);
    if (!found) return error(request, 404, 'BLOB_UNKNOWN', 'blob unknown to registry', digest);
    const redirected = behaviour.blobRedirect?.(request, repo as Repository, found);
    if (redirected) return redirected;
    return serveBytes(request, found.bytes, {
      ...headers,
      'content-type': 'application/octet-stream',
      'docker-content-digest': found.digest,
      etag: `"${found.digest}"`,
      'cache-control': 'max-age=31536000',
    });
  };

  const tags = (request: Request, repo: Repository | undefined, name: string): Response => {
    if (!repo) return error(request, 404, 'NAME_UNKNOWN', 'repository name not known to registry', { name });
    const url = new URL(request.url);
    const nParam = url.searchParams.get('n');
    let n = behaviour.tagsDefaultPage;
    if (nParam !== null) {
      if (!/^\d+$/.test(nParam)) {
        return error(request, 400, 'PAGINATION_NUMBER_INVALID', 'invalid number of results requested', { n: nParam });
      }
      n = Number(nParam);
    }
    const last = url.searchParams.get('last');
    let all = [...repo.tags.keys()].sort();
    if (last !== null) all = all.filter((t) => t > last);
    const page = n === undefined ? all : all.slice(0, n);
    const extra: HeaderMap = {};
    if (n !== undefined && n > 0 && all.length > page.length) {
      extra.link = (behaviour.tagsLink ?? distributionTagsLink)(name, page[page.length - 1] as string, n);
    }
    return json(request, 200, { name, tags: page }, { ...headers, ...extra });
  };

  const referrers = (request: Request, repo: Repository | undefined, digest: string): Response => {
    if (behaviour.referrers !== 'supported') return behaviour.referrers(request);
    const artifactType = new URL(request.url).searchParams.get('artifactType');
    let manifests = repo?.referrers(digest) ?? [];
    const extra: HeaderMap = {};
    if (artifactType) {
      manifests = manifests.filter((m) => m.artifactType === artifactType);
      extra['oci-filters-applied'] = 'artifactType';
    }
    // A registry that supports the API answers an empty index, never 404 (protocol.md section 4).
    return json(request, 200, { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }, {
      ...headers,
      ...extra,
      'content-type': MediaType.ociIndex,
    });
  };

  return async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    const read = request.method === 'GET' || request.method === 'HEAD';
    const actions = read ? ['pull'] : request.method === 'DELETE' ? ['delete'] : ['pull', 'push'];

    if (path === '/v2/') {
      const refused = await behaviour.authorize(request, { kind: 'ping' });
      return refused ?? json(request, 200, {}, headers, false);
    }
    if (path === '/v2/_catalog') {
      const refused = await behaviour.authorize(request, { kind: 'catalog' });
      if (refused) return refused;
      if (behaviour.catalog !== 'supported') return behaviour.catalog(request);
      return json(request, 200, { repositories: [...behaviour.store.repositories.keys()].sort() }, headers);
    }
    for (const { pattern, route } of ROUTES) {
      const match = pattern.exec(path);
      if (!match) continue;
      const name = match[1] as string;
      const reference = match[2] as string;
      if (!NAME.test(name)) return error(request, 400, 'NAME_INVALID', 'invalid repository name', name);
      const refused = await behaviour.authorize(request, { kind: 'repository', name, actions });
      if (refused) return refused;
      // Pull-only mocks, like a read-only distribution.
      if (!read) return error(request, 405, 'UNSUPPORTED', 'The operation is unsupported.');
      const repo = behaviour.store.repository(name);
      switch (route) {
        case 'manifests':
          return manifest(request, repo, name, reference);
        case 'blobs':
          return blob(request, repo, reference);
        case 'tags':
          return tags(request, repo, name);
        case 'referrers':
          return referrers(request, repo, reference);
      }
    }
    return goNotFound(request, headers);
  };
}
