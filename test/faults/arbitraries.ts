/**
 * Request shapes for fuzzing (issue 9), shared by the handler fuzz (test/unit/fuzz.test.ts)
 * and the fault suite's fuzz over real sockets on every runtime: registry paths with valid and
 * broken names, references and queries; methods; credentials and header values; token queries
 * and OAuth2 forms with arbitrary scopes.
 */
import fc from 'fast-check';

export const FUZZ_DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const DIGEST = FUZZ_DIGEST;

export const nameSegment = fc.oneof(
  fc.constantFrom('app', 'library', 'alpine', 'hub', 'secret', 'team', 'a', 'x-y', 'a.b', 'a__b', '..', '.', '%2e%2e', '%2F', 'A', ''),
  fc.stringMatching(/^[a-z0-9._%-]{1,12}$/),
  fc.string({ maxLength: 8 }).map(encodeURIComponent),
);
export const repositoryName = fc.array(nameSegment, { minLength: 1, maxLength: 4 }).map((segments) => segments.join('/'));
export const reference = fc.oneof(
  fc.constantFrom('latest', 'v1', DIGEST, 'sha256:xyz', 'sha512:' + 'a'.repeat(128), ':', '-', 'a'.repeat(129), ''),
  fc.stringMatching(/^[A-Za-z0-9_.:-]{1,20}$/),
);
export const scope = fc.oneof(
  fc.tuple(fc.constantFrom('repository', 'registry', 'repository(plugin)', 'x', ''), repositoryName, fc.constantFrom('pull', 'push', 'pull,push', '*', '', 'delete')).map(
    ([type, name, actions]) => `${type}:${name}:${actions}`,
  ),
  fc.string({ maxLength: 30 }),
);
export const queryValue = fc.oneof(fc.constantFrom('', 'docker.io', 'ghcr.io', '0', '-1', '999999999999', DIGEST, 'app'), fc.string({ maxLength: 12 }));
export const query = fc
  .array(fc.tuple(fc.constantFrom('ns', 'n', 'last', 'digest', 'mount', 'from', 'tag', 'scope', 'service', 'x'), queryValue), { maxLength: 4 })
  .map((pairs) => (pairs.length ? `?${new URLSearchParams(pairs)}` : ''));
export const registryPath = fc
  .tuple(
    repositoryName,
    fc.constantFrom('manifests', 'blobs', 'tags/list', 'referrers', 'blobs/uploads/', 'blobs/uploads/u1', 'other'),
    reference,
  )
  .map(([name, kind, ref]) => (kind === 'tags/list' || kind.startsWith('blobs/uploads') ? `/v2/${name}/${kind}` : `/v2/${name}/${kind}/${ref}`));
export const path = fc.oneof(
  { weight: 6, arbitrary: registryPath },
  { weight: 1, arbitrary: fc.constantFrom('/v2/', '/v2', '/', '/_token', '/v2/_catalog', '//v2/', '/v2//x/manifests/y', '/favicon.ico') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((text) => `/${encodeURI(text)}`) },
);
export const method = fc.constantFrom('GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND');
export const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom('Bearer fuzz-token', 'Bearer ', 'Basic ', 'Basic !!!', 'Basic dTpw', 'Negotiate x', 'bearer a.b.c'),
  fc.string({ maxLength: 20 }).map((text) => `Basic ${btoa(unescape(encodeURIComponent(text)))}`),
  fc.string({ maxLength: 40 }),
);
export const headerValue = fc.oneof(fc.constantFrom('', '*/*', 'bytes=0-10', 'bytes=-5', 'bytes=a-b', 'http', 'https', 'evil.example:1', 'a b'), fc.string({ maxLength: 20 }));
export const headers = fc.record(
  {
    authorization,
    accept: headerValue,
    range: headerValue,
    'content-type': fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'application/octet-stream', 'text/plain'),
    'x-forwarded-host': headerValue,
    'x-forwarded-proto': headerValue,
    'content-length': fc.constantFrom('0', '10', '99999999999', '-1', 'x'),
  },
  { requiredKeys: [] },
);
export const body = fc.oneof(fc.constant(undefined), fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 64 }));
export const host = fc.constantFrom('proxy.test', 'PROXY.test:8080', 'docker.io', '127.0.0.1:5000', '[::1]:80', 'xn--nxasmq6b.test');

export const tokenQuery = fc
  .array(fc.oneof(scope.map((value) => ['scope', value] as [string, string]), fc.tuple(fc.constantFrom('service', 'account', 'client_id', 'offline_token', 'ns', 'x'), queryValue)), {
    maxLength: 6,
  })
  .map((pairs) => new URLSearchParams(pairs).toString());
export const tokenForm = fc
  .array(
    fc.oneof(
      scope.map((value) => ['scope', value] as [string, string]),
      fc.tuple(fc.constantFrom('grant_type', 'username', 'password', 'refresh_token', 'client_id', 'service', 'access_type'), queryValue),
      fc.constantFrom<[string, string]>(['grant_type', 'password'], ['grant_type', 'refresh_token'], ['username', 'u']),
    ),
    { maxLength: 8 },
  )
  .map((pairs) => new URLSearchParams(pairs).toString());

