/**
 * Quay (quay.io) and its signed S3/CloudFront blob CDN. upstreams.md section 4 (Q-1 … Q-6).
 */
import { randomBytes } from 'node:crypto';
import { createSignedBlobsBase, type SignedBlobsUpstreamMock } from './base.ts';
import { createCdn } from './cdn.ts';
import { createDistribution } from './distribution.ts';
import { bearerChallenge, DOCKER_API_VERSION, QUAY, werkzeugRedirectHtml } from './fixtures.ts';
import { mockHost } from './host.ts';
import { hexOf } from './images.ts';
import { goNotFound, json, redirect, sized, type HeaderMap } from './responses.ts';
import { createTokenEndpoint, isPublicPull, judgeBearer, tokenOnly } from './token-server.ts';
import { allows, basicCredentials, bearerToken } from './tokens.ts';

export interface QuayMock extends SignedBlobsUpstreamMock {
  /** Pre-2024 pagination: absolute Link with an opaque `next_page`. @default false */
  legacyPagination: boolean;
}

export function quay(): QuayMock {
  const base = createSignedBlobsBase({ style: 'jwt', issuer: 'quay', audience: QUAY.service, ttlSeconds: 3600 });
  const { store, requests, faults, issuer, signed } = base;
  const nextPages = new Map<string, string>();
  const headers: HeaderMap = { ...DOCKER_API_VERSION, ...QUAY.headers };
  // never a scope.
  const challenge = bearerChallenge({ realm: QUAY.realm, service: QUAY.service });
  const unauthorized = (request: Request) =>
    sized(request, 401, QUAY.unauthorizedBody, { ...headers, 'content-type': 'application/json', 'www-authenticate': challenge }, 'UNAUTHORIZED');

  const mock: QuayMock = {
    ...base,
    legacyPagination: false,
    handlers: [],
  };

  const registry = createDistribution({
    store,
    headers,
    detailStyle: 'empty',
    tagsLink(name, last, n) {
      if (!mock.legacyPagination) return `</v2/${name}/tags/list?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
      const page = `gAAAAA${randomBytes(24).toString('base64url')}`;
      nextPages.set(page, last);
      return `<${QUAY.registry}/v2/${name}/tags/list?next_page=${page}&n=${n}>; rel="next"`;
    },
    referrers: (request) => goNotFound(request, headers),
    catalog: (request) => json(request, 200, { repositories: [] }, headers),
    authorize(request, need) {
      if (need.kind === 'ping') {
        const verdict = judgeBearer(request, issuer, need);
        // `text/html` body `true`, on 401 and on 200.
        return sized(request, verdict.kind === 'granted' ? 200 : 401, QUAY.pingBody, {
          ...headers,
          'content-type': 'text/html; charset=utf-8',
          ...(verdict.kind === 'granted' ? {} : { 'www-authenticate': challenge }),
        }, verdict.kind === 'granted' ? 'OK' : 'UNAUTHORIZED');
      }
      if (need.kind === 'catalog') {
        // the catalog needs a bearer token and lists only what it can read.
        if (basicCredentials(request)) return json(request, 401, { error: 'Invalid bearer token format' }, headers);
        const token = bearerToken(request);
        const check = token ? issuer.check(token) : undefined;
        if (!check?.ok) return unauthorized(request);
        const visible = [...store.repositories.values()]
          .filter((r) => !r.private || allows(check.grant, 'repository', r.name, 'pull') || check.grant.subject !== '')
          .map((r) => r.name)
          .sort();
        return json(request, 200, { repositories: visible }, headers);
      }
      const verdict = judgeBearer(request, issuer, need);
      if (verdict.kind === 'granted') return undefined;
      // public repositories work without any token.
      if (isPublicPull(store, need)) return undefined;
      return unauthorized(request);
    },
    blobRedirect(request, repo, blob) {
      // HEAD is answered directly.
      if (request.method !== 'GET') return undefined;
      const hex = hexOf(blob.digest);
      const [namespace = '', repoName = ''] = repo.name.split('/');
      const now = new Date();
      const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
      const query = [
        'X-Amz-Algorithm=AWS4-HMAC-SHA256',
        `X-Amz-Credential=AKIAMOCK%2F${amzDate.slice(0, 8)}%2Fus-east-1%2Fs3%2Faws4_request`,
        `X-Amz-Date=${amzDate}`,
        'X-Amz-Expires=600',
        'X-Amz-SignedHeaders=host',
        `X-Amz-Signature=${randomBytes(32).toString('hex')}`,
        `cf_sign=${encodeURIComponent(signed.signature())}`,
        `cf_expiry=${Math.floor(now.getTime() / 1000) + 600}`,
        'region=us-east-1',
        `namespace=${namespace}`,
        `repo_name=${repoName}`,
      ].join('&');
      const location = signed.remember(`${QUAY.cdn}/quayio-production-s3/sha256/${hex.slice(0, 2)}/${hex}?${query}`);
      // Werkzeug's 302 FOUND with an HTML body.
      return redirect(302, location, werkzeugRedirectHtml(location), {
        ...headers,
        'content-type': 'text/html; charset=utf-8',
        'accept-ranges': 'bytes',
        'docker-content-digest': blob.digest,
        'cache-control': 'max-age=31536000',
      }, 'FOUND');
    },
  });

  const tokenEndpoint = createTokenEndpoint(base, {
    allowPost: false,
    // Q-2 [INFERRED] shape.
    shape: tokenOnly,
    badCredentials: (request) =>
      json(request, 401, { error: 'Invalid Username or Password' }, { 'content-type': 'application/json' }),
  });

  const cdn = createCdn({
    kind: 's3-presigned',
    signed,
    lookup: (url) => {
      const hex = /\/sha256\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
      return hex ? store.findBlob(`sha256:${hex}`) : undefined;
    },
  });

  mock.handlers.push(
    mockHost(QUAY.registry, requests, faults, (request) => {
      const url = new URL(request.url);
      if (url.pathname === '/v2/auth') return tokenEndpoint(request);
      const page = url.searchParams.get('next_page');
      if (page !== null) {
        // Legacy Link: translate the opaque page back to `last` for the core.
        url.searchParams.delete('next_page');
        url.searchParams.set('last', nextPages.get(page) ?? '');
        return registry(new Request(url, request));
      }
      return registry(request);
    }),
    mockHost(QUAY.cdn, requests, faults, cdn),
  );
  return mock;
}
