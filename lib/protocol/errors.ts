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
  | 'UNKNOWN';

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
