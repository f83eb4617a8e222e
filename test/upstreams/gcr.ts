/**
 * Legacy Google Container Registry (gcr.io) and its GCS blob storage.
 * upstreams.md section 3 (GCR-1 … GCR-3).
 */
import { createSignedBlobsBase, type SignedBlobsUpstreamMock } from './base.ts';
import { createCdn } from './cdn.ts';
import { createDistribution } from './distribution.ts';
import { bearerChallenge, DOCKER_API_VERSION, GCR } from './fixtures.ts';
import { mockHost, withTokenEndpoint } from './host.ts';
import type { ImageOptions, IndexOptions } from './images.ts';
import { goNotFound, redirect, sized, type HeaderMap } from './responses.ts';
import { createTokenEndpoint, isPublicPull, judgeBearer, tokenOnly } from './token-server.ts';

export interface GcrMock extends SignedBlobsUpstreamMock {
  /** Signed GCS URLs (private images) stop working; public ones are unsigned and keep working. */
  expireSignedUrls(): void;
}

export function gcr(): GcrMock {
  // GCR-2: manifests are pretty-printed with a 3-space indent; the digest covers those bytes.
  const pretty: ImageOptions & IndexOptions = { format: 'docker', indent: 3 };
  const base = createSignedBlobsBase({ style: 'opaque', issuer: 'gcr.io', audience: GCR.service, ttlSeconds: 3600 }, { image: pretty, index: pretty });
  const { store, requests, faults, issuer, signed } = base;
  const headers: HeaderMap = { ...DOCKER_API_VERSION, ...GCR.headers };
  // GCR-1 (2026): unquoted service; GCR-2: never a scope, not even on repository endpoints.
  const challenge = bearerChallenge({ realm: GCR.realm, service: GCR.service, unquotedService: true });
  const unauthorized = (request: Request) =>
    sized(request, 401, GCR.unauthorizedBody, { ...headers, 'content-type': 'application/json', 'www-authenticate': challenge });

  const registry = createDistribution({
    store,
    headers,
    referrers: (request) => goNotFound(request, headers),
    catalog: (request) => goNotFound(request, headers),
    authorize(request, need) {
      const verdict = judgeBearer(request, issuer, need);
      if (verdict.kind === 'granted') return undefined;
      // GCR-2: public repositories need no token at all (but /v2/ still challenges).
      if (isPublicPull(store, need)) return undefined;
      return unauthorized(request);
    },
    blobRedirect(request, repo, blob) {
      if (request.method !== 'GET') return undefined;
      let location = `${GCR.storage}/${GCR.bucket}/containers/images/${blob.digest}`;
      if (repo.private) {
        // [INFERRED] private images get a signed GCS URL.
        const expires = Math.floor(Date.now() / 1000) + 600;
        location = signed.remember(
          `${location}?GoogleAccessId=mock%40mock-project.iam.gserviceaccount.com&Expires=${expires}&Signature=${encodeURIComponent(signed.signature())}`,
        );
      }
      // GCR-3: 302 Found with a JSON body.
      return redirect(302, location, GCR.redirectBody, { ...headers, 'content-type': 'application/json' });
    },
  });

  const tokenEndpoint = createTokenEndpoint(base, {
    // GCR-2: POST → 404, clients fall back to GET.
    allowPost: false,
    // [INFERRED] shape.
    shape: tokenOnly,
    badCredentials: unauthorized,
    refuse(request) {
      // GCR-2: an empty `scope=` is rejected.
      const scopes = new URL(request.url).searchParams.getAll('scope');
      if (scopes.some((s) => s === '')) {
        return sized(request, 400, '{"errors":[{"code":"UNKNOWN","message":"Invalid scope"}]}', { 'content-type': 'application/json' });
      }
      return undefined;
    },
  });

  const storage = createCdn({
    kind: 'gcs',
    signed,
    isSigned: (url) => url.searchParams.has('Signature'),
    lookup: (url) => {
      const digest = /\/containers\/images\/(sha256:[0-9a-f]{64})$/.exec(decodeURIComponent(url.pathname))?.[1];
      return digest ? store.findBlob(digest) : undefined;
    },
  });

  return {
    ...base,
    handlers: [
      // GCR-1: `/v2` without the slash is a 404.
      mockHost(GCR.registry, requests, faults, withTokenEndpoint('/v2/token', tokenEndpoint, registry)),
      mockHost(GCR.storage, requests, faults, storage),
    ],
  };
}
