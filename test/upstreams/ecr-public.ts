/**
 * Amazon ECR Public (public.ecr.aws) and its CloudFront blob host. upstreams.md section 6.
 */
import { createBase, type UpstreamMock } from './base.ts';
import { createCdn, SignedUrls } from './cdn.ts';
import { createDistribution } from './distribution.ts';
import { bearerChallenge, DOCKER_API_VERSION, ECR_PUBLIC } from './fixtures.ts';
import { mockHost } from './host.ts';
import { ociError, redirect, sized, type HeaderMap } from './responses.ts';
import { createTokenEndpoint, judgeBearer } from './token-server.ts';
import { basicCredentials, TokenIssuer } from './tokens.ts';
import { randomUUID } from 'node:crypto';

export interface EcrPublicMock extends UpstreamMock {
  issuer: TokenIssuer;
  /** A registry-wide token as `aws ecr-public get-authorization-token` returns; send it as Bearer directly (section 6). */
  issueAwsToken(): string;
  expireTokens(): void;
  expireSignedUrls(): void;
}

export function ecrPublic(): EcrPublicMock {
  const base = createBase();
  const { store, requests, faults, accounts } = base;
  const issuer = new TokenIssuer({ style: 'opaque', issuer: 'public.ecr.aws', audience: ECR_PUBLIC.service, ttlSeconds: 43200 });
  const signed = new SignedUrls();
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

  const tokenEndpoint = createTokenEndpoint({
    issuer,
    accounts,
    store,
    allowPost: false,
    shape: (token) => ({ token }),
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
    issuer,
    handlers: [
      mockHost(ECR_PUBLIC.registry, requests, faults, (request) => {
        const path = new URL(request.url).pathname;
        if (path === '/token/') return tokenEndpoint(request);
        return registry(request);
      }),
      mockHost(ECR_PUBLIC.cdn, requests, faults, cdn),
    ],
    issueAwsToken: () => issuer.issue('aws', [{ type: 'repository', name: '*', actions: ['pull'] }]).token,
    expireTokens: () => issuer.expireAll(),
    expireSignedUrls: () => signed.expireAll(),
  };
}
