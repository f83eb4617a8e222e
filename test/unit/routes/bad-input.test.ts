import { describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../../lib/index.ts';

/** A fetch that records every upstream call; any call at all fails these tests. */
function recordingFetch() {
  const calls: string[] = [];
  const fetch = (async (input: RequestInfo | URL) => {
    calls.push(String(input instanceof Request ? input.url : input));
    return new Response('{}', { status: 200 });
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

const sha = `sha256:${'0'.repeat(64)}`;

describe('bad input is refused with an OCI error before anything goes upstream', () => {
  it.each([
    ['GET', '/v2/UPPER/manifests/latest', 400, 'NAME_INVALID'],
    ['GET', '/v2/a%2Fb/manifests/latest', 400, 'NAME_INVALID'],
    ['GET', '/v2/a%2e%2e/manifests/latest', 400, 'NAME_INVALID'],
    ['GET', '/v2/../../x/manifests/latest', 404, 'NOT_FOUND'],
    ['GET', '/v2/-a/tags/list', 400, 'NAME_INVALID'],
    ['GET', `/v2/${'a'.repeat(256)}/manifests/latest`, 400, 'NAME_INVALID'],
    ['GET', `/v2/${'a'.repeat(245)}/manifests/latest`, 400, 'NAME_INVALID'], // fits alone, not with the prefix
    ['GET', '/v2/app/manifests/bad!tag', 400, 'TAG_INVALID'],
    ['GET', `/v2/app/manifests/${'t'.repeat(129)}`, 400, 'TAG_INVALID'],
    ['HEAD', '/v2/app/manifests/sha256:abc', 400, 'DIGEST_INVALID'],
    ['GET', '/v2/app/blobs/latest', 400, 'DIGEST_INVALID'],
    ['GET', `/v2/app/blobs/sha256:${'G'.repeat(64)}`, 400, 'DIGEST_INVALID'],
    ['GET', '/v2/app/referrers/not-a-digest', 400, 'DIGEST_INVALID'],
    ['POST', '/v2/app/blobs/uploads/', 405, 'UNSUPPORTED'],
    ['PATCH', '/v2/app/blobs/uploads/abc', 405, 'UNSUPPORTED'],
    ['PUT', '/v2/app/manifests/v1', 405, 'UNSUPPORTED'],
    ['DELETE', `/v2/app/blobs/${sha}`, 405, 'UNSUPPORTED'],
    ['GET', '/v2/_catalog', 404, 'UNSUPPORTED'],
    ['GET', '/etc/passwd', 404, 'NOT_FOUND'],
    ['GET', '/_token?scope=repository:UPPER:pull', 400, 'NAME_INVALID'],
    ['GET', '/_token?scope=repository:ok:pull&scope=repository:..%2Fx:pull', 400, 'NAME_INVALID'],
  ])('%s %s → %i %s', async (method, path, status, code) => {
    const upstream = recordingFetch();
    const proxy = createRegistryProxy({
      upstream: 'https://registry.example',
      repositoryPrefix: 'team/project',
      fetch: upstream.fetch,
    });
    const response = await proxy(new Request(`http://proxy.test${path}`, { method }));
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json');
    if (method !== 'HEAD') {
      const body = (await response.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]?.code).toBe(code);
      expect(body.errors[0]?.message).toBeTruthy();
    }
    expect(upstream.calls).toEqual([]);
  });

  it.each([
    ['/v2/a/%2e%2e/b/manifests/latest', 'https://registry.example/v2/team/project/b/manifests/latest'],
    ['/v2/a\\b/manifests/latest', 'https://registry.example/v2/team/project/a/b/manifests/latest'],
  ])('dot segments and backslashes are resolved by URL parsing and never escape the prefix: %s', async (path, upstreamUrl) => {
    const upstream = recordingFetch();
    const proxy = createRegistryProxy({ upstream: 'https://registry.example', repositoryPrefix: 'team/project', fetch: upstream.fetch });
    await proxy(new Request(`http://proxy.test${path}`));
    expect(upstream.calls).toEqual([upstreamUrl]);
  });

  it('refuses an oversized OAuth2 token form', async () => {
    const upstream = recordingFetch();
    const proxy = createRegistryProxy({ upstream: 'https://registry.example', fetch: upstream.fetch });
    const response = await proxy(
      new Request('http://proxy.test/_token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `scope=${'a'.repeat(70 * 1024)}`,
      }),
    );
    expect(response.status).toBe(413);
    expect(upstream.calls).toEqual([]);
  });

  it('answers 405 with Allow so clients know the proxy is read-only', async () => {
    const proxy = createRegistryProxy({ upstream: 'https://registry.example', fetch: recordingFetch().fetch });
    const response = await proxy(new Request('http://proxy.test/v2/app/blobs/uploads/', { method: 'POST' }));
    expect(response.headers.get('allow')).toBe('GET, HEAD');
  });
});
