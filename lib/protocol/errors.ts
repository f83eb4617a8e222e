/** Error codes from the OCI distribution spec, plus the proxy's own upstream failures. */
export type OciErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'TAG_INVALID'
  | 'RANGE_INVALID'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_INVALID'
  | 'UPSTREAM_BUSY'
  | 'NOT_FOUND'
  | 'TOKEN_REQUEST_INVALID'
  | 'REQUEST_INVALID'
  | 'UPSTREAM_CREDENTIALS'
  | 'UNKNOWN';

/**
 * Every answer the proxy gives itself, by situation: its status and code, in one table used
 * everywhere. Where CNCF distribution answers the same request, status and code are distribution's
 * (test/integration/registry-conformance.test.ts compares them); a request naming something
 * that cannot exist is "unknown" (404), as distribution's routes leave it, not "invalid" (400).
 * A code keeps one status, as in distribution's errcode registry: UNSUPPORTED is 405, never 404.
 */
export const ERRORS = {
  /** A repository name outside the grammar (or too long once prefixed): it cannot exist. */
  nameUnknown: { status: 404, code: 'NAME_UNKNOWN' },
  /** A manifest reference that is neither a tag nor a digest: it cannot exist. */
  manifestUnknown: { status: 404, code: 'MANIFEST_UNKNOWN' },
  /** A blob "digest" without the digest's shape (`algorithm:encoded`): it cannot exist. */
  blobUnknown: { status: 404, code: 'BLOB_UNKNOWN' },
  /** A digest of the right shape but impossible (`sha256:abc`). */
  digestInvalid: { status: 400, code: 'DIGEST_INVALID' },
  /** A repository name in a token scope outside the grammar. */
  nameInvalid: { status: 400, code: 'NAME_INVALID' },
  /** No path the proxy serves (`/v2/<name>/unknown`, `/v2/_catalog`, `/foo`). */
  notFound: { status: 404, code: 'NOT_FOUND' },
  /** A write on a read-only route, or a method the endpoint does not take. */
  unsupported: { status: 405, code: 'UNSUPPORTED' },
  /** Credentials missing or wrong (with a challenge). */
  unauthorized: { status: 401, code: 'UNAUTHORIZED' },
  /** The access rules, a user's globs or the upstream refuse this repository or tag. */
  denied: { status: 403, code: 'DENIED' },
  tooManyRequests: { status: 429, code: 'TOOMANYREQUESTS' },
  /** A token request body over the limit. */
  bodyTooLarge: { status: 413, code: 'SIZE_INVALID' },
  /** A token request the proxy's token endpoint cannot take (unknown `grant_type`). */
  tokenRequestInvalid: { status: 400, code: 'TOKEN_REQUEST_INVALID' },
  /** A request the runtime handed over with a URL that does not parse (a bad `Host`). */
  requestTargetInvalid: { status: 400, code: 'REQUEST_INVALID' },
  /** The proxy's credentials provider failed. */
  upstreamCredentials: { status: 502, code: 'UPSTREAM_CREDENTIALS' },
  upstreamUnreachable: { status: 502, code: 'UPSTREAM_UNREACHABLE' },
  upstreamTimeout: { status: 504, code: 'UPSTREAM_TIMEOUT' },
  /** The per-upstream concurrency cap had no slot within its queue timeout. */
  upstreamBusy: { status: 503, code: 'UPSTREAM_BUSY' },
  /** The upstream (or its token server) answered something unusable. */
  upstreamInvalid: { status: 502, code: 'UPSTREAM_INVALID' },
  /** A bug or an unexpected failure in the proxy. */
  unknown: { status: 500, code: 'UNKNOWN' },
} as const satisfies Record<string, { status: number; code: OciErrorCode }>;

export type ErrorSituation = keyof typeof ERRORS;

/** The error for a situation of {@link ERRORS}. */
export function ociError(situation: ErrorSituation, message: string, detail: unknown = null, headers: HeadersInit = {}): OciError {
  const { status, code } = ERRORS[situation];
  return new OciError(status, code, message, detail, headers);
}

/** The one error type of registry-proxy: it knows its HTTP status and renders the spec's error body. */
export class OciError extends Error {
  override name = 'OciError';
  readonly status: number;
  readonly code: OciErrorCode;
  readonly detail: unknown;
  readonly headers: HeadersInit;

  constructor(status: number, code: OciErrorCode, message: string, detail: unknown = null, headers: HeadersInit = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.headers = headers;
  }

  toResponse(): Response {
    return ociErrorResponse(this.status, this.code, this.message, this.detail, this.headers);
  }
}

export function isOciError(value: unknown): value is OciError {
  return value instanceof OciError || (value instanceof Error && value.name === 'OciError' && 'toResponse' in value);
}

/** `{"errors":[{code,message,detail}]}` with `application/json`, as every OCI client expects. */
export function ociErrorResponse(
  status: number,
  code: OciErrorCode,
  message: string,
  detail: unknown = null,
  headers: HeadersInit = {},
): Response {
  const response = new Response(JSON.stringify({ errors: [{ code, message, detail }] }) + '\n', {
    status,
    headers,
  });
  response.headers.set('content-type', 'application/json');
  response.headers.set('docker-distribution-api-version', 'registry/2.0');
  return response;
}
