/**
 * Google Artifact Registry (`<location>-docker.pkg.dev`). Names are `<project>/<repo>/<image>`.
 * upstreams.md section 3 (AR-1 … AR-3).
 */
import { randomBytes } from 'node:crypto';
import { createTokenBase, type TokenUpstreamMock } from './base.ts';
import { createDistribution, needScope } from './distribution.ts';
import { arPermissionDeniedMessage, arUnauthenticatedMessage, bearerChallenge, DOCKER_API_VERSION, GCR } from './fixtures.ts';
import { mockHost } from './host.ts';
import type { Faults } from './faults.ts';
import type { Content } from './images.ts';
import type { RequestLog } from './recorder.ts';
import { goNotFound, ociError, redirect, serveBytes, sized, type HeaderMap } from './responses.ts';
import { createTokenEndpoint, isPublicPull, judgeBearer, tokenOnly } from './token-server.ts';

export interface ArtifactRegistryOptions {
  /** `us`, `europe`, `us-west1`, … @default 'us' */
  location?: string;
  /** Shared with an outer mock (registryK8s). */
  requests?: RequestLog;
  faults?: Faults;
}

export interface ArtifactRegistryMock extends TokenUpstreamMock {
  origin: string;
  /** Accounts that authenticate but lack `artifactregistry.repositories.downloadArtifacts` (AR-2). */
  iamDenied: Set<string>;
  /** `/artifacts-downloads/…` links handed out so far stop working. */
  expireDownloads(): void;
}

export const GOOGLE_SIGNIN = 'https://accounts.google.com';

export function artifactRegistry(options: ArtifactRegistryOptions = {}): ArtifactRegistryMock {
  const location = options.location ?? 'us';
  const origin = `https://${location}-docker.pkg.dev`;
  const service = `${location}-docker.pkg.dev`;
  const realm = `${origin}/v2/token`;
  const base = createTokenBase(
    { style: 'opaque', issuer: service, audience: service, ttlSeconds: 3600 },
    {
      ...(options.requests ? { requests: options.requests } : {}),
      ...(options.faults ? { faults: options.faults } : {}),
    },
  );
  const { store, requests, faults, issuer } = base;
  const downloads = new Map<string, Content>();
  const iamDenied = new Set<string>();
  const headers: HeaderMap = { ...DOCKER_API_VERSION, 'x-frame-options': 'SAMEORIGIN', 'x-xss-protection': '0' };

  const resource = (name: string) => {
    const [project = '', repo = ''] = name.split('/');
    return { project, repo };
  };

  const registry = createDistribution({
    store,
    headers,
    catalog: (request) => goNotFound(request, headers),
    // AR-3: the referrers endpoint redirects to a Google sign-in HTML page.
    referrers: (request) =>
      redirect(302, `${GOOGLE_SIGNIN}/v3/signin/identifier?continue=${encodeURIComponent(request.url)}`, '', {
        'content-type': 'text/html; charset=UTF-8',
      }),
    authorize(request, need) {
      const verdict = judgeBearer(request, issuer, need);
      if (verdict.kind === 'granted') return undefined;
      // AR-2: public repositories allow anonymous pulls.
      if (isPublicPull(store, need)) return undefined;
      if (need.kind === 'repository') {
        if (verdict.kind === 'insufficient' && verdict.grant.subject !== '') {
          const { project, repo: arRepo } = resource(need.name);
          return ociError(request, 403, [{ code: 'DENIED', message: arPermissionDeniedMessage(project, location, arRepo) }], headers);
        }
      }
      const scope = needScope(need);
      // AR-1: no service on /v2/; realm + service + scope on repository endpoints. Body [INFERRED].
      const challenge =
        need.kind === 'ping' ? bearerChallenge({ realm }) : bearerChallenge({ realm, service, ...(scope ? { scope } : {}) });
      return sized(request, 401, GCR.unauthorizedBody, { ...headers, 'content-type': 'application/json', 'www-authenticate': challenge });
    },
    blobRedirect(request, repo, blob) {
      if (request.method !== 'GET') return undefined;
      const { project, repo: arRepo } = resource(repo.name);
      // AR-3: ~1000 characters of url-safe base64, on the same host, as a relative Location.
      const token = randomBytes(750).toString('base64url');
      downloads.set(token, blob);
      return redirect(302, `/artifacts-downloads/namespaces/${project}/repositories/${arRepo}/downloads/${token}`, '', {
        ...headers,
        'content-type': 'text/html; charset=utf-8',
      });
    },
  });

  const tokenEndpoint = createTokenEndpoint(base, {
    allowPost: false,
    shape: tokenOnly,
    badCredentials: (request) =>
      ociError(request, 401, [{ code: 'UNAUTHORIZED', message: 'Not Authorized.' }], {}, { trailingNewline: false }),
    refuse(request, tokenRequest, granted, authenticated) {
      const scope = tokenRequest.scopes.find((s) => s.type === 'repository');
      if (!scope) return undefined;
      if (authenticated) {
        if (iamDenied.has(tokenRequest.credentials?.username ?? '')) granted.length = 0;
        return undefined;
      }
      if (granted.some((g) => g.name === scope.name)) return undefined;
      // AR-2: anonymous token for a private or missing repository → 403.
      const { project, repo } = resource(scope.name);
      return ociError(request, 403, [{ code: 'DENIED', message: arUnauthenticatedMessage(project, location, repo) }], {}, { trailingNewline: false });
    },
  });

  const download = (request: Request): Response => {
    const token = new URL(request.url).pathname.split('/').pop() ?? '';
    const blob = downloads.get(token);
    if (!blob) return sized(request, 403, 'Forbidden\n', { 'content-type': 'text/plain' });
    // Same host as the registry: Go clients keep Authorization here, so it must be tolerated (AR-3).
    return serveBytes(request, blob.bytes, { 'content-type': 'application/octet-stream' });
  };

  return {
    ...base,
    origin,
    iamDenied,
    handlers: [
      mockHost(origin, requests, faults, (request) => {
        const path = new URL(request.url).pathname;
        if (path === '/v2/token') return tokenEndpoint(request);
        if (path.startsWith('/artifacts-downloads/')) return download(request);
        return registry(request);
      }),
      mockHost(GOOGLE_SIGNIN, requests, faults, (request) =>
        sized(request, 200, '<!doctype html><html><head><title>Sign in - Google Accounts</title></head><body></body></html>', {
          'content-type': 'text/html; charset=utf-8',
        }),
      ),
    ],
    expireDownloads: () => downloads.clear(),
  };
}
