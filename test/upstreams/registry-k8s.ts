/**
 * registry.k8s.io (archeio): a redirector with no auth that sends manifests to Artifact
 * Registry and blobs to public S3 (or AR). upstreams.md section 5.
 */
import { artifactRegistry, type ArtifactRegistryMock } from './artifact-registry.ts';
import { createBase, type UpstreamMock } from './base.ts';
import { createCdn } from './cdn.ts';
import { DOCKER_API_VERSION, K8S } from './fixtures.ts';
import { mockHost } from './host.ts';
import type { BuiltImage, BuiltIndex, ImageOptions, IndexOptions } from './images.ts';
import { redirect, sized, type HeaderMap } from './responses.ts';

export interface RegistryK8sMock extends UpstreamMock {
  /** The AR backend (`us-west1-docker.pkg.dev`, `k8s-artifacts-prod/images/<name>`); shares `requests` and `faults`. */
  ar: ArtifactRegistryMock;
  /** Where blob requests go: S3 for AWS client IPs, AR otherwise. @default 's3' */
  blobsTo: 's3' | 'ar';
}

/** Go's http.Redirect body for GET [INFERRED]. */
function goRedirect(request: Request, location: string, headers: HeaderMap): Response {
  const body = request.method === 'GET' ? `<a href="${location.replaceAll('&', '&amp;')}">Temporary Redirect</a>.\n\n` : '';
  return redirect(307, location, body, { ...headers, 'content-type': 'text/html; charset=utf-8' });
}

export function registryK8s(): RegistryK8sMock {
  const base = createBase();
  const { requests, faults } = base;
  const ar = artifactRegistry({ location: K8S.arLocation, requests, faults });
  const prefix = `${K8S.arProject}/${K8S.arRepository}`;
  const headers: HeaderMap = { ...DOCKER_API_VERSION, server: 'Google Frontend', via: '1.1 google' };

  const mock: RegistryK8sMock = {
    ...base,
    // Content lives in the AR backend; names are mapped under its prefix.
    store: ar.store,
    ar,
    blobsTo: 's3',
    handlers: [],
    addImage: (name: string, tag: string, image?: BuiltImage | ImageOptions) => ar.addImage(`${prefix}/${name}`, tag, image),
    addIndex: (name: string, tag: string, index?: BuiltIndex | IndexOptions) => ar.addIndex(`${prefix}/${name}`, tag, index),
    setPrivate: (name: string, isPrivate?: boolean) => ar.setPrivate(`${prefix}/${name}`, isPrivate),
    setCredentials: (username: string, password: string) => ar.setCredentials(username, password),
  };

  const archeio = (request: Request): Response => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return sized(request, 405, 'Only GET and HEAD are allowed.\n', { 'content-type': 'text/plain; charset=utf-8' });
    }
    // Section 5: 200, no challenge, empty text/html.
    if (path === '/v2/') return sized(request, 200, '', { ...headers, 'content-type': 'text/html' });
    if (path === '/v2/_catalog') return sized(request, 404, '_catalog is not supported\n', { 'content-type': 'text/plain; charset=utf-8' });
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (blob && mock.blobsTo === 's3') {
      return goRedirect(request, `${K8S.s3}/containers/images/${encodeURIComponent(blob[2] as string)}`, headers);
    }
    if (path.startsWith('/v2/')) {
      // Everything else under /v2/ goes to the caller's AR region, prefix added.
      return goRedirect(request, `${ar.origin}/v2/${prefix}/${path.slice('/v2/'.length)}${url.search}`, headers);
    }
    return sized(request, 404, '404 page not found\n', { 'content-type': 'text/plain; charset=utf-8' });
  };

  const s3 = createCdn({
    kind: 's3-public',
    lookup: (url) => {
      const digest = /^\/containers\/images\/(sha256:[0-9a-f]{64})$/.exec(decodeURIComponent(url.pathname))?.[1];
      return digest ? ar.store.findBlob(digest) : undefined;
    },
  });

  mock.handlers.push(mockHost(K8S.registry, requests, faults, archeio), mockHost(K8S.s3, requests, faults, s3), ...ar.handlers);
  return mock;
}
