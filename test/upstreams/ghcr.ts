/**
 * GitHub Container Registry (ghcr.io) and its blob host pkg-containers.githubusercontent.com.
 * upstreams.md section 2 (GH-1 … GH-5).
 */
import { createSignedBlobsBase, type SignedBlobsUpstreamMock } from './base.ts';
import { createCdn } from './cdn.ts';
import { createDistribution, needScope, type Need } from './distribution.ts';
import { bearerChallenge, DOCKER_API_VERSION, GHCR, ociErrorBody } from './fixtures.ts';
import { mockHost, withTokenEndpoint } from './host.ts';
import { goNotFound, redirect, sized, type HeaderMap } from './responses.ts';
import { createTokenEndpoint, isPublicPull, judgeBearer, tokenOnly } from './token-server.ts';
import { bearerToken } from './tokens.ts';

export interface GhcrMock extends SignedBlobsUpstreamMock {
  /**
   * What the token endpoint answers an anonymous request for a private or missing package:
   * 401 (tunnel-client#75) or 403 (coolify#5575). @default 401
   */
  privateTokenStatus: 401 | 403;
  /**
   * GHCR lets any Bearer value pull a public package (Homebrew sends `Bearer QQ==`, GH-2).
   * Turn off to make the mock insist on its own tokens. @default true
   */
  acceptAnyBearerForPublic: boolean;
}

export function ghcr(): GhcrMock {
  const base = createSignedBlobsBase({ style: 'ghcr', issuer: 'ghcr.io', audience: GHCR.service, ttlSeconds: 300 });
  const { store, requests, faults, issuer, signed } = base;
  const headers: HeaderMap = { ...DOCKER_API_VERSION, 'x-github-request-id': 'C559:34E8D2:1A2B3C:1D2E3F:65A0B1C2' };

  const challenge = (need: Need, error?: 'insufficient_scope') =>
    bearerChallenge({
      realm: GHCR.realm,
      service: GHCR.service,
      // GH-1: the placeholder on /v2/ and _catalog, the real scope on repository endpoints.
      scope: need.kind === 'repository' ? (needScope(need) as string) : GHCR.placeholderScope,
      ...(error ? { error } : {}),
    });
  const unauthorized = (request: Request, need: Need, error?: 'insufficient_scope') =>
    sized(request, 401, GHCR.unauthorizedBody, { ...headers, 'content-type': 'application/json', 'www-authenticate': challenge(need, error) });
  // GH-2: wrong or expired credentials → DENIED without WWW-Authenticate; status [INFERRED] 403.
  const denied = (request: Request) => sized(request, 403, GHCR.deniedBody, { ...headers, 'content-type': 'application/json' });

  const mock: GhcrMock = {
    ...base,
    privateTokenStatus: 401,
    acceptAnyBearerForPublic: true,
    handlers: [],
  };

  const registry = createDistribution({
    store,
    headers,
    detailStyle: 'none',
    messages: { indexNotAccepted: GHCR.indexNotAccepted, manifestNotAccepted: GHCR.manifestNotAccepted },
    tagsDefaultPage: 100,
    referrers: (request) => goNotFound(request, headers),
    catalog: (request) => unauthorized(request, { kind: 'catalog' }),
    authorize(request, need) {
      if (need.kind === 'catalog') return unauthorized(request, need);
      const verdict = judgeBearer(request, issuer, need);
      if (verdict.kind === 'granted') return undefined;
      if (verdict.kind === 'missing') return unauthorized(request, need);
      if (mock.acceptAnyBearerForPublic && bearerToken(request) !== undefined && isPublicPull(store, need)) return undefined;
      if (verdict.kind === 'invalid') return denied(request);
      return unauthorized(request, need, 'insufficient_scope');
    },
    blobRedirect(request, _repo, blob) {
      if (request.method !== 'GET') return undefined;
      const se = encodeURIComponent(new Date(Date.now() + 10 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'));
      const location = signed.remember(
        `${GHCR.cdn}/ghcr1/blobs/${blob.digest}?se=${se}&sig=${encodeURIComponent(signed.signature())}&sp=r&spr=https&sr=b&sv=2019-12-12`,
      );
      // GH-4: 307 [INFERRED for the current target].
      return redirect(307, location, '', { ...headers, 'content-type': 'application/octet-stream' });
    },
  });

  const tokenEndpoint = createTokenEndpoint(base, {
    allowPost: true,
    // GH-2: `{"token":…}` only, no expiry.
    shape: tokenOnly,
    badCredentials: (request) => unauthorized(request, { kind: 'ping' }),
    refuse(request, tokenRequest, granted, authenticated) {
      // GH-2: a PAT sent as Bearer to /token gets the GH-1 401.
      if (bearerToken(request) !== undefined) return unauthorized(request, { kind: 'ping' });
      const wanted = tokenRequest.scopes.filter((s) => s.type === 'repository');
      const allGranted = wanted.every((s) => granted.some((g) => g.name === s.name));
      if (authenticated || allGranted) return undefined;
      // GH-2: unlike Hub, no token at all for a private or missing package.
      if (mock.privateTokenStatus === 403) {
        return sized(request, 403, ociErrorBody([{ code: 'DENIED', message: 'requested access to the resource is denied' }]), {
          'content-type': 'application/json',
        });
      }
      return unauthorized(request, { kind: 'ping' });
    },
  });

  const cdn = createCdn({
    kind: 'azure-sas',
    signed,
    lookup: (url) => store.findBlob(decodeURIComponent(url.pathname.replace('/ghcr1/blobs/', ''))),
  });

  mock.handlers.push(
    mockHost(GHCR.registry, requests, faults, withTokenEndpoint('/token', tokenEndpoint, registry)),
    mockHost(GHCR.cdn, requests, faults, cdn),
  );
  return mock;
}

/** GHCR's 401 body, for assertions (GH-1). */
export const GHCR_UNAUTHORIZED_BODY = GHCR.unauthorizedBody;
