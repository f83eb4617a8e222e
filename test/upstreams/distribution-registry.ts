/**
 * A plain distribution/distribution registry (the reference implementation), in one of its
 * three auth setups. upstreams.md section 8.
 */
import { randomBytes } from 'node:crypto';
import { createSignedBlobsBase, type SignedBlobsUpstreamMock } from './base.ts';
import { createCdn } from './cdn.ts';
import { createDistribution, needScope, type Need } from './distribution.ts';
import { bearerChallenge, DOCKER_API_VERSION } from './fixtures.ts';
import { mockHost, withTokenEndpoint } from './host.ts';
import { hexOf } from './images.ts';
import { goNotFound, ociError, redirect, sized, type HeaderMap } from './responses.ts';
import { createTokenEndpoint, judgeBearer, tokenWithAccessToken } from './token-server.ts';
import { basicCredentials } from './tokens.ts';

export interface DistributionOptions {
  /** `anonymous`: no auth; `basic`: htpasswd; `token`: a separate token server. @default 'token' */
  auth?: 'anonymous' | 'basic' | 'token';
  /** @default 'https://registry.example.com' */
  origin?: string;
  /** @default 'https://auth.example.com/token' */
  realm?: string;
  /** @default the origin's host */
  service?: string;
  /** `s3`: blob GET/HEAD → 307 to a presigned S3 URL (storage driver with redirects); `false`: 200/206. @default false */
  blobRedirect?: 's3' | false;
  /** distribution answers 404 (section 8); `supported` emulates an OCI 1.1 registry. @default 'not-found' */
  referrers?: 'supported' | 'not-found';
}

export interface DistributionMock extends SignedBlobsUpstreamMock {
  origin: string;
}

export const S3_BUCKET = 'https://registry-bucket.s3.us-east-1.amazonaws.com';

/** Go's http.Redirect body for GET (distribution's blobserver redirect). */
function goRedirectHtml(location: string): string {
  return `<a href="${location.replaceAll('&', '&amp;')}">Temporary Redirect</a>.\n\n`;
}

export function distribution(options: DistributionOptions = {}): DistributionMock {
  const mode = options.auth ?? 'token';
  const origin = options.origin ?? 'https://registry.example.com';
  const realm = options.realm ?? 'https://auth.example.com/token';
  const service = options.service ?? new URL(origin).host;
  const base = createSignedBlobsBase({ style: 'jwt', issuer: new URL(realm).host, audience: service, ttlSeconds: 300 });
  const { store, requests, faults, accounts, issuer, signed } = base;
  // X-Content-Type-Options comes from the default image config's http.headers.
  const headers: HeaderMap = { ...DOCKER_API_VERSION, 'x-content-type-options': 'nosniff' };

  const unauthorized = (request: Request, need: Need, challenge: string) => {
    const detail =
      need.kind === 'ping'
        ? null
        : need.kind === 'catalog'
          ? [{ Type: 'registry', Class: '', Name: 'catalog', Action: '*' }]
          : need.actions.map((action) => ({ Type: 'repository', Class: '', Name: need.name, Action: action }));
    return ociError(request, 401, [{ code: 'UNAUTHORIZED', message: 'authentication required', detail }], {
      ...headers,
      'www-authenticate': challenge,
    });
  };

  const registry = createDistribution({
    store,
    headers,
    catalog: 'supported',
    referrers: options.referrers === 'supported' ? 'supported' : (request) => goNotFound(request, headers),
    authorize(request, need) {
      if (mode === 'anonymous') return undefined;
      if (mode === 'basic') {
        const credentials = basicCredentials(request);
        if (credentials && accounts.verify(credentials.username, credentials.password)) return undefined;
        return unauthorized(request, need, 'Basic realm="Registry Realm"');
      }
      const verdict = judgeBearer(request, issuer, need);
      if (verdict.kind === 'granted') return undefined;
      const scope = needScope(need);
      const error = verdict.kind === 'invalid' ? 'invalid_token' : verdict.kind === 'insufficient' ? 'insufficient_scope' : undefined;
      return unauthorized(request, need, bearerChallenge({ realm, service, ...(scope ? { scope } : {}), ...(error ? { error } : {}) }));
    },
    ...(options.blobRedirect === 's3'
      ? {
          blobRedirect(_request: Request, _repo: unknown, blob: { digest: string }) {
            const hex = hexOf(blob.digest);
            const query = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAMOCK%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=1200&X-Amz-SignedHeaders=host&X-Amz-Signature=${randomBytes(32).toString('hex')}`;
            const location = signed.remember(`${S3_BUCKET}/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data?${query}`);
            return redirect(307, location, _request.method === 'GET' ? goRedirectHtml(location) : '', {
              ...headers,
              'content-type': 'text/html; charset=utf-8',
            });
          },
        }
      : {}),
  });

  const tokenEndpoint = createTokenEndpoint(base, {
    allowPost: true,
    catalog: true,
    grantMissing: true,
    shape: tokenWithAccessToken(300),
    badCredentials: (request) => sized(request, 401, '{"details":"incorrect username or password"}\n', { 'content-type': 'application/json' }),
  });

  const bucket = createCdn({
    kind: 's3-presigned',
    signed,
    lookup: (url) => {
      const hex = /\/blobs\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})\/data$/.exec(url.pathname)?.[1];
      return hex ? store.findBlob(`sha256:${hex}`) : undefined;
    },
  });

  const realmUrl = new URL(realm);
  const handlers = [mockHost(origin, requests, faults, registry)];
  if (mode === 'token') {
    if (realmUrl.origin === origin) {
      handlers[0] = mockHost(origin, requests, faults, withTokenEndpoint(realmUrl.pathname, tokenEndpoint, registry));
    } else {
      handlers.push(mockHost(realmUrl.origin, requests, faults, withTokenEndpoint(realmUrl.pathname, tokenEndpoint, (request) => goNotFound(request, {}))));
    }
  }
  if (options.blobRedirect === 's3') handlers.push(mockHost(S3_BUCKET, requests, faults, bucket));

  return {
    ...base,
    origin,
    handlers,
  };
}
