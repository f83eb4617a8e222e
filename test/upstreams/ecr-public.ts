/**
 * Amazon ECR Public (public.ecr.aws) and its CloudFront blob host. upstreams.md section 6.
 */
import { createSignedBlobsBase, type SignedBlobsUpstreamMock } from './base.ts';
import { createCdn } from './cdn.ts';
import { createDistribution } from './distribution.ts';
import { bearerChallenge, DOCKER_API_VERSION, ECR_PUBLIC } from './fixtures.ts';
import { mockHost, withTokenEndpoint } from './host.ts';
import { ociError, redirect, sized, type HeaderMap } from './responses.ts';
import { createTokenEndpoint, judgeBearer, tokenOnly } from './token-server.ts';
import { basicCredentials } from './tokens.ts';
import { randomUUID } from 'node:crypto';

export interface EcrPublicMock extends SignedBlobsUpstreamMock {
  /** A registry-wide token as `aws ecr-public get-authorization-token` returns; send it as Bearer directly (section 6). */
  issueAwsToken(): string;
}

export function ecrPublic(): EcrPublicMock {
  const base = createSignedBlobsBase({ style: 'opaque', issuer: 'public.ecr.aws', audience: ECR_PUBLIC.service, ttlSeconds: 43200 });
  const { store, requests, faults, issuer, signed } = base;
  const cloudfrontPaths = new Map<string, string>();
  const headers: HeaderMap = { ...DOCKER_API_VERSION };
  // Section 6: trailing slash in the realm and `scope="aws"`, on every challenge.
  const challenge = bearerChallenge({ realm: ECR_PUBLIC.realm, service: ECR_PUBLIC.service, scope: ECR_PUBLIC.scope });
  const errorContentType = 'application/json; charset=utf-8';
  const unauthorized = (request: Request) =>
    ociError(request, 401, [{ code: 'UNAUTHORIZED', message: 'Not Authorized' }], { ...headers, 'www-authenticate': challenge }, { contentType: errorContentType });
  const denied = (request: Request, body: string) => sized(request, 403, body, { ...headers, 'content-type': errorContentType });

  const registry = createDistribution({
    store,
    headers,
    errorContentType,
    referrers: 'supported',
    catalog: (request) => sized(request, 404, ECR_PUBLIC.notFoundBody, { ...headers, 'content-type': errorContentType }),
    authorize(request, need) {
      if (basicCredentials(request)) {
        // Section 6: Basic to /v2/ → 400; elsewhere DENIED "invalid".
        if (need.kind === 'ping') return sized(request, 400, 'Bad Request\n', { 'content-type': 'text/plain' });
        return denied(request, ECR_PUBLIC.invalidTokenBody);
      }
      const verdict = judgeBearer(request, issuer, need);
      switch (verdict.kind) {
        case 'granted':
          return undefined;
        case 'missing':
          return unauthorized(request);
        case 'invalid':
          // Stale stored credentials are not ignored, even for public images.
          return denied(request, verdict.reason === 'expired' ? ECR_PUBLIC.expiredTokenBody : ECR_PUBLIC.invalidTokenBody);
        case 'insufficient':
          return unauthorized(request);
      }
    },
    blobRedirect(request, _repo, blob) {
      if (request.method !== 'GET') return undefined;
      const path = `/${blob.digest.slice(7, 13)}-123456789012-${randomUUID()}/${randomUUID()}`;
      cloudfrontPaths.set(path, blob.digest);
      const expires = Math.floor(Date.now() / 1000) + 600;
      const location = signed.remember(
        `${ECR_PUBLIC.cdn}${path}?CallerAccountId=123456789012&Expires=${expires}&Signature=${encodeURIComponent(signed.signature())}&Key-Pair-Id=K1MOCKKEYPAIR`,
      );
      // [INFERRED] 307, like private ECR.
      return redirect(307, location, '', { ...headers, 'content-type': 'application/octet-stream' });
    },
  });

  const tokenEndpoint = createTokenEndpoint(base, {
    allowPost: false,
    shape: tokenOnly,
    badCredentials: (request) => denied(request, ECR_PUBLIC.invalidTokenBody),
  });

  const cdn = createCdn({
    kind: 'cloudfront',
    signed,
    lookup: (url) => {
      const digest = cloudfrontPaths.get(url.pathname);
      return digest ? store.findBlob(digest) : undefined;
    },
  });

  return {
    ...base,
    handlers: [
      mockHost(ECR_PUBLIC.registry, requests, faults, withTokenEndpoint('/token/', tokenEndpoint, registry)),
      mockHost(ECR_PUBLIC.cdn, requests, faults, cdn),
    ],
    issueAwsToken: () => issuer.issue('aws', [{ type: 'repository', name: '*', actions: ['pull'] }]).token,
  };
}
