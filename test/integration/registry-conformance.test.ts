/**
 * Requests the proxy answers itself (bad names, tags, digests, unknown endpoints, wrong
 * methods) get the status and `errors[0].code` CNCF distribution gives the same request. One
 * read-only distribution answers directly and, behind the proxy, as its upstream; the proxy
 * stays read-only too. Where distribution answers with no OCI body (its router's plain-text 404
 * and 405), the proxy gives the same status with the code named here. Every deliberate
 * difference is listed in `DIFFERENCES` and in the README ("Answers the proxy gives itself").
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoProxyErrors, startCleanedUpProxy, useCleanups } from './harness/lifecycle.ts';
import { requireCommands } from './harness/process.ts';
import type { TestProxy } from './harness/proxy.ts';
import { startRegistry, type Registry } from './harness/registry.ts';

const zeros = (length: number) => '0'.repeat(length);
const cleanups = useCleanups();
let registry: Registry;
let proxy: TestProxy;

beforeAll(async () => {
  await requireCommands('docker-registry');
  registry = await startRegistry({ auth: 'none', readOnly: true });
  cleanups.push(() => registry.stop());
  proxy = await startCleanedUpProxy(cleanups, { upstream: registry.url });
});

interface Answer {
  status: number;
  code: string | undefined;
}

async function ask(origin: string, method: string, path: string): Promise<Answer> {
  const response = await fetch(origin + path, { method, redirect: 'manual' });
  const text = method === 'HEAD' ? '' : await response.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { errors?: Array<{ code?: string }> }).errors?.[0]?.code;
  } catch {
    code = undefined; // distribution's router answers unmatched routes in plain text
  }
  return { status: response.status, code };
}

/** [method, path, the proxy's code where distribution sends no OCI body (or none at all)] */
const SAME: Array<[string, string, string | undefined]> = [
  // Names outside the grammar: distribution's routes do not match them.
  ['GET', '/v2/Bad/manifests/latest', 'NAME_UNKNOWN'],
  ['GET', '/v2/-a/tags/list', 'NAME_UNKNOWN'],
  ['HEAD', '/v2/UPPER/blobs/sha256:' + zeros(64), undefined],
  // Manifest references that are neither tag nor digest.
  ['GET', '/v2/a/manifests/.INVALID_MANIFEST_NAME', 'MANIFEST_UNKNOWN'],
  ['HEAD', '/v2/a/manifests/.INVALID_MANIFEST_NAME', undefined],
  ['GET', `/v2/a/manifests/${'t'.repeat(129)}`, 'MANIFEST_UNKNOWN'],
  // Blob digests: without a digest's shape, unknown; with it but impossible, invalid.
  ['GET', '/v2/a/blobs/notadigest', 'BLOB_UNKNOWN'],
  ['GET', `/v2/a/blobs/SHA256:${zeros(64)}`, 'BLOB_UNKNOWN'],
  ['GET', '/v2/a/blobs/sha256:abc', 'DIGEST_INVALID'],
  ['GET', '/v2/a/blobs/sha512:abc', 'DIGEST_INVALID'],
  ['GET', `/v2/a/blobs/sha256:${zeros(63)}`, 'DIGEST_INVALID'],
  // Unknown endpoints.
  ['GET', '/v2/a/unknown', 'NOT_FOUND'],
  ['GET', '/v2/a/tags', 'NOT_FOUND'],
  ['GET', '/v2/a/manifests/', 'NOT_FOUND'],
  ['GET', '/foo', 'NOT_FOUND'],
  // Wrong methods and writes on a read-only registry.
  ['PUT', '/v2/a/manifests/latest', 'UNSUPPORTED'],
  ['DELETE', '/v2/a/manifests/latest', 'UNSUPPORTED'],
  ['POST', '/v2/a/blobs/uploads/', 'UNSUPPORTED'],
  ['DELETE', `/v2/a/blobs/sha256:${zeros(64)}`, 'UNSUPPORTED'],
  ['PATCH', '/v2/a/tags/list', 'UNSUPPORTED'],
  ['POST', '/v2/a/tags/list', 'UNSUPPORTED'],
  // The base endpoint takes any method.
  ['DELETE', '/v2/', undefined],
  ['POST', '/v2/', undefined],
];

/** Deliberate differences: [method, path, distribution's answer, the proxy's answer, why]. */
const DIFFERENCES: Array<[string, string, Answer, Answer, string]> = [
  ['GET', '/v2/a/manifests/sha256:abc', { status: 500, code: 'UNKNOWN' }, { status: 400, code: 'DIGEST_INVALID' }, 'an impossible digest is a client error, as for blobs'],
  ['GET', `/v2/${'a'.repeat(260)}/manifests/latest`, { status: 500, code: 'UNKNOWN' }, { status: 404, code: 'NAME_UNKNOWN' }, 'a name over 255 characters cannot exist'],
  ['GET', '/v2/a%2Fb/manifests/latest', { status: 404, code: 'MANIFEST_UNKNOWN' }, { status: 404, code: 'NAME_UNKNOWN' }, 'an encoded slash is never decoded into a name'],
  ['GET', '/v2/_catalog', { status: 200, code: undefined }, { status: 404, code: 'NOT_FOUND' }, 'the catalog would list the upstream, not what the proxy serves'],
  ['GET', '/', { status: 200, code: undefined }, { status: 404, code: 'NOT_FOUND' }, '/ is for browserRedirect, not the API'],
];

describe('the proxy answers as distribution does', () => {
  it.each(SAME)('%s %s', async (method, path, proxyCode) => {
    const direct = await ask(registry.url, method, path);
    const proxied = await ask(proxy.url, method, path);
    expect(proxied.status).toBe(direct.status);
    // Where distribution names a code the proxy names the same; where it sends no OCI body, the proxy's code is the one above.
    expect(proxied.code).toBe(direct.code ?? proxyCode);
  });
});

describe('deliberate differences, as documented', () => {
  it.each(DIFFERENCES)('%s %s', async (method, path, distribution, expected) => {
    expect(await ask(registry.url, method, path)).toEqual(distribution);
    expect(await ask(proxy.url, method, path)).toEqual(expected);
  });

  it('leaves the proxy without errors', () => expectNoProxyErrors(proxy));
});
