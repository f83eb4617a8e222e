/**
 * Exact wire fixtures of real registries: challenges, error bodies, token JSON shapes.
 * Section tags (DH-1, GH-1, …) point at /work/shared/upstreams.md.
 */

export const DOCKER_API_VERSION = { 'docker-distribution-api-version': 'registry/2.0' } as const;

export interface OciErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/**
 * distribution-derived servers (Hub, GHCR, ECR Public, distribution) write errors with Go's
 * json.Encoder, which appends `\n`; Content-Length counts it (upstreams.md "Body framing").
 */
export function ociErrorBody(errors: OciErrorEntry[], trailingNewline = true): string {
  return JSON.stringify({ errors }) + (trailingNewline ? '\n' : '');
}

// --- Challenges ---------------------------------------------------------------------------

export interface ChallengeParams {
  realm: string;
  service?: string;
  scope?: string;
  error?: 'insufficient_scope' | 'invalid_token';
  /** gcr.io since 2026 sends `service=gcr.io` without quotes (GCR-1). */
  unquotedService?: boolean;
}

/** distribution's `%q` formatting: `Bearer realm="…",service="…"[,scope="…"][,error="…"]` (section 8). */
export function bearerChallenge(p: ChallengeParams): string {
  let value = `Bearer realm="${p.realm}"`;
  if (p.service !== undefined) value += p.unquotedService ? `,service=${p.service}` : `,service="${p.service}"`;
  if (p.scope !== undefined) value += `,scope="${p.scope}"`;
  if (p.error !== undefined) value += `,error="${p.error}"`;
  return value;
}

// --- Docker Hub ---------------------------------------------------------------------------

export const HUB = {
  registry: 'https://registry-1.docker.io',
  auth: 'https://auth.docker.io',
  realm: 'https://auth.docker.io/token',
  service: 'registry.docker.io',
  cdn: 'https://production.cloudflare.docker.com',
  /** DH-1: 86 bytes + `\n` = 87. */
  pingBody: ociErrorBody([{ code: 'UNAUTHORIZED', message: 'authentication required', detail: null }]),
  strictTransportSecurity: 'max-age=31536000',
  /** DH-7, 2025 wording. */
  pullLimitMessage: 'You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit',
  /** DH-7 anti-abuse limiter: text/plain with bare LF. */
  haproxy429Body: 'Too Many Requests (HAP429).\n',
  /** DH-3 [INFERRED] body of a token request with wrong credentials. */
  badCredentialsBody: '{"details":"incorrect username or password"}\n',
} as const;

/** DH-2 / DH-6: 2021 captures carry `"Class":""` in each detail item. */
export function hubAccessDetail(type: string, name: string, action: string) {
  return [{ Type: type, Class: '', Name: name, Action: action }];
}

// --- GHCR ---------------------------------------------------------------------------------

export const GHCR = {
  registry: 'https://ghcr.io',
  realm: 'https://ghcr.io/token',
  service: 'ghcr.io',
  cdn: 'https://pkg-containers.githubusercontent.com',
  /** GH-1: sent only on /v2/ and _catalog (and the token endpoint's own 401). */
  placeholderScope: 'repository:user/image:pull',
  /** GH-1: 72 bytes + `\n` = 73, no `detail`. */
  unauthorizedBody: ociErrorBody([{ code: 'UNAUTHORIZED', message: 'authentication required' }]),
  /** GH-2: wrong or expired credentials give DENIED without a challenge ("denied: denied"). */
  deniedBody: ociErrorBody([{ code: 'DENIED', message: 'denied' }]),
  /** GH-3 (capital "Accept", unlike distribution's source). */
  indexNotAccepted: 'OCI index found, but Accept header does not support OCI indexes',
  manifestNotAccepted: 'OCI manifest found, but Accept header does not support OCI manifests',
} as const;

// --- Google -------------------------------------------------------------------------------

export const GCR = {
  registry: 'https://gcr.io',
  realm: 'https://gcr.io/v2/token',
  service: 'gcr.io',
  storage: 'https://storage.googleapis.com',
  bucket: 'artifacts.mock-project.appspot.com',
  /** GCR-1: no trailing newline (chunked, not distribution's encoder). */
  unauthorizedBody: ociErrorBody([{ code: 'UNAUTHORIZED', message: 'Unauthorized access.' }], false),
  /** GCR-3: the 302 to GCS carries this JSON body. */
  redirectBody: '{"errors":[]}',
  headers: {
    server: 'Docker Registry',
    'cache-control': 'private',
    'x-xss-protection': '0',
    'x-frame-options': 'SAMEORIGIN',
  },
} as const;

/** AR-2: the token endpoint's refusal for anonymous access to a private or missing repository. */
export function arUnauthenticatedMessage(project: string, location: string, repo: string): string {
  return `Unauthenticated request. Unauthenticated requests do not have permission "artifactregistry.repositories.downloadArtifacts" on resource "projects/${project}/locations/${location}/repositories/${repo}" (or it may not exist)`;
}

/** AR-2: credentials without an IAM grant. */
export function arPermissionDeniedMessage(project: string, location: string, repo: string): string {
  return `Permission "artifactregistry.repositories.downloadArtifacts" denied on resource "projects/${project}/locations/${location}/repositories/${repo}" (or it may not exist)`;
}

// --- Quay ---------------------------------------------------------------------------------

export const QUAY = {
  registry: 'https://quay.io',
  realm: 'https://quay.io/v2/auth',
  service: 'quay.io',
  cdn: 'https://cdn03.quay.io',
  /** `text/html` body `true`, Content-Length 4. */
  pingBody: 'true',
  /** Q-4 [INFERRED] JSON layout. */
  unauthorizedBody: ociErrorBody([{ code: 'UNAUTHORIZED', detail: {}, message: 'access to the requested resource is not authorized' }]),
  headers: {
    server: 'nginx/1.20.1',
    'strict-transport-security': 'max-age=63072000; preload',
    'x-frame-options': 'DENY',
  },
} as const;

/** Werkzeug's redirect page, 2024 form. */
export function werkzeugRedirectHtml(location: string): string {
  const escaped = location.replaceAll('&', '&amp;');
  return `<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href="${escaped}">${escaped}</a>. If not, click the link.\n`;
}

// --- ECR Public ---------------------------------------------------------------------------

export const ECR_PUBLIC = {
  registry: 'https://public.ecr.aws',
  /** Section 6: trailing slash in the realm, pseudo-scope `aws`. */
  realm: 'https://public.ecr.aws/token/',
  service: 'public.ecr.aws',
  scope: 'aws',
  cdn: 'https://d2glxqk2uabbnd.cloudfront.net',
  invalidTokenBody: ociErrorBody([{ code: 'DENIED', message: 'Your Authorization Token is invalid.' }]),
  expiredTokenBody: ociErrorBody([{ code: 'DENIED', message: 'Your authorization token has expired. Reauthenticate and try again.' }]),
  /** Section 6, 2022 capture: 64 bytes + `\n` = 65. */
  notFoundBody: ociErrorBody([{ code: 'NOT_FOUND', message: '404 page not found' }]),
} as const;

// --- registry.k8s.io ----------------------------------------------------------------------

export const K8S = {
  registry: 'https://registry.k8s.io',
  arLocation: 'us-west1',
  arProject: 'k8s-artifacts-prod',
  arRepository: 'images',
  s3: 'https://prod-registry-k8s-io-us-west-2.s3.dualstack.us-west-2.amazonaws.com',
} as const;

// --- Blob storage / CDN errors (section 9.4) ----------------------------------------------

function requestId(): string {
  return Math.random().toString(16).slice(2, 18).toUpperCase();
}

/** S3 presigned URL plus an Authorization header (renovate#5155). */
export function s3OnlyOneAuthXml(authorization: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message><ArgumentName>Authorization</ArgumentName><ArgumentValue>${authorization}</ArgumentValue><RequestId>${requestId()}</RequestId><HostId>mock</HostId></Error>`;
}

/** [INFERRED] S3 without a presigned query, given a non-AWS Authorization scheme. */
export function s3UnsupportedAuthXml(authorization: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code><Message>Unsupported Authorization Type</Message><ArgumentName>Authorization</ArgumentName><ArgumentValue>${authorization}</ArgumentValue><RequestId>${requestId()}</RequestId><HostId>mock</HostId></Error>`;
}

export function s3ExpiredXml(): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message><RequestId>${requestId()}</RequestId><HostId>mock</HostId></Error>`;
}

/** Azure SAS plus Authorization (Azure/acr#217); status and code [INFERRED]. */
export function azureAuthFormatXml(): string {
  return `\uFEFF<?xml version="1.0" encoding="utf-8"?><Error><Code>InvalidAuthenticationInfo</Code><Message>Authentication information is not given in the correct format. Check the value of Authorization header.\nRequestId:${requestId()}\nTime:${new Date().toISOString()}</Message></Error>`;
}

export function azureExpiredXml(): string {
  return `\uFEFF<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.\nRequestId:${requestId()}\nTime:${new Date().toISOString()}</Message><AuthenticationErrorDetail>Signed expiry time has to be after signed start time</AuthenticationErrorDetail></Error>`;
}

/** GCS with a foreign bearer token: 403 (moby#13649); body [INFERRED]. */
export function gcsAccessDeniedXml(): string {
  return `<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access denied.</Message></Error>`;
}

/** [INFERRED] CloudFront signed-URL failures (ECR Public, Quay's CloudFront). */
export function cloudFrontAccessDeniedXml(): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access denied</Message></Error>`;
}
