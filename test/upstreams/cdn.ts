/**
 * Blob storage and CDN hosts that registries redirect blob downloads to. Each one refuses a
 * request carrying `Authorization` with the provider's real error (upstreams.md 9.4), so a
 * proxy that leaks the registry token across the redirect fails the test. All support Range.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Content } from './images.ts';
import {
  azureAuthFormatXml,
  azureExpiredXml,
  cloudFrontAccessDeniedXml,
  gcsAccessDeniedXml,
  s3ExpiredXml,
  s3OnlyOneAuthXml,
  s3UnsupportedAuthXml,
} from './fixtures.ts';
import { serveBytes, sized, type HeaderMap } from './responses.ts';

export type CdnKind =
  /** Hub's production.cloudflare.docker.com, `?verify=` URLs (DH-8). */
  | 'cloudflare'
  /** S3 presigned `X-Amz-*` URLs (Quay's cdnNN.quay.io, Q-5). */
  | 's3-presigned'
  /** Unsigned public S3 objects (registry.k8s.io, section 5). */
  | 's3-public'
  /** Azure SAS `se=&sig=` (GHCR's pkg-containers, GH-4). */
  | 'azure-sas'
  /** Public GCS objects (GCR-3). */
  | 'gcs'
  /** CloudFront signed URLs (ECR Public, section 6). */
  | 'cloudfront';

/** Remembers which signed URLs were handed out, so a test can expire them all (signed Locations expire: 9.4). */
export class SignedUrls {
  private readonly issued = new Set<string>();

  /** Returns a random signature-like token and remembers `url` once it is complete. */
  signature(): string {
    return randomBytes(20).toString('base64');
  }

  remember(url: string): string {
    this.issued.add(url);
    return url;
  }

  isValid(url: string): boolean {
    return this.issued.has(url);
  }

  expireAll(): void {
    this.issued.clear();
  }
}

function md5Etag(bytes: Uint8Array): string {
  return `"${createHash('md5').update(bytes).digest('hex')}"`;
}

function xml(request: Request, status: number, body: string, headers: HeaderMap = {}): Response {
  return sized(request, status, body, { 'content-type': 'application/xml', ...headers });
}

/** The provider's answer to a request that carries `Authorization`. */
function authorizationRefusal(kind: CdnKind, request: Request, authorization: string): Response {
  switch (kind) {
    case 's3-presigned':
      return xml(request, 400, s3OnlyOneAuthXml(authorization), { server: 'AmazonS3' });
    case 's3-public':
      return xml(request, 400, s3UnsupportedAuthXml(authorization), { server: 'AmazonS3' });
    case 'azure-sas':
      return xml(request, 400, azureAuthFormatXml(), { server: 'Microsoft-HTTPAPI/2.0' });
    case 'gcs':
      return xml(request, 403, gcsAccessDeniedXml(), { server: 'UploadServer' });
    case 'cloudfront':
      return xml(request, 403, cloudFrontAccessDeniedXml(), { server: 'CloudFront' });
    case 'cloudflare':
      // [INFERRED] Hub's CDN behaviour with Authorization is unknown (9.4); refusing keeps leaks visible.
      return sized(request, 403, 'Forbidden: Authorization is not accepted on signed blob URLs (mock)\n', {
        'content-type': 'text/plain',
        server: 'cloudflare',
      });
  }
}

function expiredRefusal(kind: CdnKind, request: Request): Response {
  switch (kind) {
    case 's3-presigned':
    case 's3-public':
      return xml(request, 403, s3ExpiredXml(), { server: 'AmazonS3' });
    case 'azure-sas':
      return xml(request, 403, azureExpiredXml(), { server: 'Microsoft-HTTPAPI/2.0' });
    case 'cloudfront':
      return xml(request, 403, cloudFrontAccessDeniedXml(), { server: 'CloudFront' });
    case 'gcs':
      return xml(request, 403, gcsAccessDeniedXml(), { server: 'UploadServer' });
    case 'cloudflare':
      return sized(request, 403, 'Forbidden\n', { 'content-type': 'text/plain', server: 'cloudflare' });
  }
}

function notFound(kind: CdnKind, request: Request): Response {
  if (kind === 'cloudflare') return sized(request, 404, 'Not Found\n', { 'content-type': 'text/plain', server: 'cloudflare' });
  return xml(request, 404, '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
}

function providerHeaders(kind: CdnKind, blob: Content): HeaderMap {
  const common = { 'content-type': 'application/octet-stream', 'last-modified': 'Mon, 01 Jan 2024 00:00:00 GMT' };
  switch (kind) {
    case 'cloudflare':
      // DH-8: MD5-style Etag, not the digest.
      return { ...common, etag: md5Etag(blob.bytes), server: 'cloudflare', vary: 'Accept-Encoding', 'cf-cache-status': 'HIT' };
    case 's3-presigned':
    case 's3-public':
      return { ...common, etag: md5Etag(blob.bytes), server: 'AmazonS3', 'x-amz-request-id': 'MOCKREQUESTID' };
    case 'cloudfront':
      return { ...common, etag: md5Etag(blob.bytes), server: 'AmazonS3', via: '1.1 mock.cloudfront.net (CloudFront)', 'x-cache': 'Hit from cloudfront' };
    case 'azure-sas':
      return { ...common, etag: '"0x8DBD0A1B2C3D4E5"', server: 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0', 'x-ms-blob-type': 'BlockBlob', 'x-ms-version': '2019-12-12' };
    case 'gcs':
      return { ...common, etag: md5Etag(blob.bytes), server: 'UploadServer', 'x-goog-storage-class': 'STANDARD' };
  }
}

export interface CdnOptions {
  kind: CdnKind;
  /** Finds the blob a URL points at. */
  lookup(url: URL): Content | undefined;
  /** When given, only URLs it issued (and has not expired) are served. */
  signed?: SignedUrls;
  /** Which URLs need a valid signature (GCS serves public objects unsigned). @default every URL */
  isSigned?(url: URL): boolean;
}

export function createCdn(options: CdnOptions): (request: Request) => Promise<Response> {
  return async (request) => {
    const authorization = request.headers.get('authorization');
    if (authorization !== null) return authorizationRefusal(options.kind, request, authorization);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return xml(request, 405, '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>MethodNotAllowed</Code></Error>');
    }
    const needsSignature = options.isSigned?.(new URL(request.url)) ?? true;
    if (options.signed && needsSignature && !options.signed.isValid(request.url)) return expiredRefusal(options.kind, request);
    const blob = options.lookup(new URL(request.url));
    if (!blob) return notFound(options.kind, request);
    return serveBytes(request, blob.bytes, providerHeaders(options.kind, blob));
  };
}
