/**
 * Docker Hub: registry-1.docker.io (+ its aliases), auth.docker.io and the Cloudflare blob CDN.
 * upstreams.md section 1 (DH-1 … DH-9).
 */
import { createSignedBlobsBase, type SignedBlobsUpstreamMock } from './base.ts';
import { createCdn } from './cdn.ts';
import { createDistribution, needScope, type Need } from './distribution.ts';
import { bearerChallenge, DOCKER_API_VERSION, HUB, hubAccessDetail, ociErrorBody } from './fixtures.ts';
import { mockHost, withTokenEndpoint } from './host.ts';
import { hexOf } from './images.ts';
import { ociError, redirect, sized, type HeaderMap } from './responses.ts';
import { createTokenEndpoint, judgeBearer, tokenWithAccessToken } from './token-server.ts';

export interface DockerHubRateLimit {
  /** Headers are absent for unlimited/paid pulls (DH-4). @default true */
  enabled: boolean;
  limit: number;
  /** Manifest GETs decrement it (HEAD does not); at 0 they answer 429 TOOMANYREQUESTS (DH-7). */
  remaining: number;
  windowSeconds: number;
  source: string;
}

export interface DockerHubMock extends SignedBlobsUpstreamMock {
  rateLimit: DockerHubRateLimit;
  /**
   * `pull-limit`: the pull counter hits 0, so manifest GETs answer the JSON 429 until
   * `rateLimit.remaining` is raised. `haproxy`: the next `times` requests to the registry host
   * get the anti-abuse text/plain 429 with `Retry-After: 60` (DH-7).
   */
  tooManyRequests(kind: 'pull-limit' | 'haproxy', times?: number): void;
  /** Every issued token becomes expired (`error="invalid_token"` on use). */
  expireTokens(): void;
  /** Every `?verify=` CDN URL handed out so far stops working. */
  expireSignedUrls(): void;
}

/** Hosts that behave the same as registry-1 (section 1 intro). */
const REGISTRY_ALIASES = ['https://index.docker.io', 'https://registry.hub.docker.com'];

export function dockerHub(): DockerHubMock {
  const base = createSignedBlobsBase({
    style: 'jwt',
    issuer: 'auth.docker.io',
    audience: HUB.service,
    ttlSeconds: 300,
    // DH-3: the decoded claims carry the pull limit.
    accessParameters: { pull_limit: '100', pull_limit_interval: '21600' },
  });
  const { store, requests, faults, issuer, signed } = base;
  const rateLimit: DockerHubRateLimit = { enabled: true, limit: 100, remaining: 100, windowSeconds: 21600, source: '192.0.2.10' };
  const headers: HeaderMap = { ...DOCKER_API_VERSION, 'strict-transport-security': HUB.strictTransportSecurity };

  const unauthorized = (request: Request, need: Need, error?: 'insufficient_scope' | 'invalid_token') => {
    const scope = needScope(need);
    const challenge = bearerChallenge({ realm: HUB.realm, service: HUB.service, ...(scope ? { scope } : {}), ...(error ? { error } : {}) });
    // DH-1: detail null on /v2/; DH-2/DH-6/DH-9: an access detail elsewhere.
    const detail =
      need.kind === 'ping'
        ? null
        : need.kind === 'catalog'
          ? hubAccessDetail('registry', 'catalog', '*')
          : hubAccessDetail('repository', need.name, need.actions.join(','));
    return ociError(request, 401, [{ code: 'UNAUTHORIZED', message: 'authentication required', detail }], {
      ...headers,
      'www-authenticate': challenge,
    });
  };

  const rateLimitHeaders = (): HeaderMap =>
    rateLimit.enabled
      ? {
          'ratelimit-limit': `${rateLimit.limit};w=${rateLimit.windowSeconds}`,
          'ratelimit-remaining': `${Math.max(0, rateLimit.remaining)};w=${rateLimit.windowSeconds}`,
          'docker-ratelimit-source': rateLimit.source,
        }
      : {};

  const registry = createDistribution({
    store,
    headers,
    authorize(request, need) {
      const verdict = judgeBearer(request, issuer, need);
      if (need.kind === 'catalog') {
        // DH-3/DH-9: a catalog token is issued, but the catalog is still refused.
        return unauthorized(request, need, verdict.kind === 'missing' ? undefined : 'insufficient_scope');
      }
      switch (verdict.kind) {
        case 'granted':
          return undefined;
        case 'missing':
          return unauthorized(request, need);
        case 'invalid':
          return unauthorized(request, need, 'invalid_token');
        case 'insufficient':
          // DH-6: 401, not 404, for a missing or private repository (and for `alpine` without `library/`).
          return unauthorized(request, need, 'insufficient_scope');
      }
    },
    catalog: (request) => ociError(request, 401, [{ code: 'UNAUTHORIZED', message: 'authentication required' }], headers),
    // Hub added the Referrers API in 2025 (DH-9).
    referrers: 'supported',
    onManifest(request) {
      if (!rateLimit.enabled) return undefined;
      // HEAD does not count (DH-4).
      if (request.method === 'GET') {
        if (rateLimit.remaining <= 0) {
          return ociError(request, 429, [{ code: 'TOOMANYREQUESTS', message: HUB.pullLimitMessage }], { ...headers, ...rateLimitHeaders() });
        }
        rateLimit.remaining -= 1;
      }
      return rateLimitHeaders();
    },
    blobRedirect(request, _repo, blob) {
      // [INFERRED] HEAD is answered directly; only GET goes to the CDN (DH-8).
      if (request.method !== 'GET') return undefined;
      const hex = hexOf(blob.digest);
      const verify = `${Math.floor(Date.now() / 1000) + 1200}-${signed.signature()}`;
      const location = signed.remember(
        `${HUB.cdn}/registry-v2/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data?verify=${encodeURIComponent(verify)}`,
      );
      return redirect(307, location, '', { ...headers, 'content-type': 'application/octet-stream' });
    },
  });

  const tokenEndpoint = createTokenEndpoint(base, {
    allowPost: true,
    contentType: 'application/json; charset=utf-8',
    headers: { 'strict-transport-security': HUB.strictTransportSecurity, 'x-trace-id': 'c00a2a131c306bbe24032054e4b958fb' },
    // DH-3: four fields, token === access_token, expires_in 300.
    shape: tokenWithAccessToken(300),
    badCredentials: (request) =>
      sized(request, 401, HUB.badCredentialsBody, { 'content-type': 'application/json; charset=utf-8' }),
  });

  const cdn = createCdn({
    kind: 'cloudflare',
    signed,
    lookup: (url) => {
      const hex = /\/blobs\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\/data$/.exec(url.pathname)?.[1];
      return hex ? store.findBlob(`sha256:${hex}`) : undefined;
    },
  });

  const auth = withTokenEndpoint('/token', tokenEndpoint, (request) =>
    sized(request, 404, '404 page not found\n', { 'content-type': 'text/plain' }),
  );

  return {
    ...base,
    rateLimit,
    handlers: [
      mockHost(HUB.registry, requests, faults, registry),
      ...REGISTRY_ALIASES.map((origin) => mockHost(origin, requests, faults, registry)),
      mockHost(HUB.auth, requests, faults, auth),
      mockHost(HUB.cdn, requests, faults, cdn),
    ],
    tooManyRequests(kind, times = 1) {
      if (kind === 'pull-limit') {
        rateLimit.enabled = true;
        rateLimit.remaining = 0;
        return;
      }
      faults.respond(
        (request) => new URL(request.url).host === new URL(HUB.registry).host,
        (request) =>
          sized(request, 429, HUB.haproxy429Body, {
            'cache-control': 'no-cache',
            connection: 'close',
            'content-type': 'text/plain',
            'retry-after': '60',
          }),
        times,
      );
    },
  };
}

/** The exact DH-1 body, for assertions. */
export const HUB_PING_BODY = HUB.pingBody;
export const HUB_PULL_LIMIT_BODY = ociErrorBody([{ code: 'TOOMANYREQUESTS', message: HUB.pullLimitMessage }]);
