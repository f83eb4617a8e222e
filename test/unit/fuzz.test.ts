/**
 * Property-based fuzzing of the handler (issue 9) with fast-check: request paths, methods,
 * headers, token queries and form bodies, scopes, and option objects, against a few proxy
 * configurations in front of a well-behaved token-auth registry. Whatever comes in, the answer
 * is a response — never a throw — and every error is in OCI form; a 5xx is only ever 502/504
 * (the upstream's), never the proxy's own failure. The seed is fixed so CI runs the same cases;
 * `FUZZ_SEED` and `FUZZ_RUNS` explore further.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRegistryProxy, type FetchHandler } from '../../lib/index.ts';
import { RegistryProxyOptionsError } from '../../lib/options/error.ts';
import { authorization, body, FUZZ_DIGEST, headers, host, method, path, query, tokenForm, tokenQuery } from '../faults/arbitraries.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const DIGEST = FUZZ_DIGEST;
const UPSTREAM = 'https://registry.fuzz';
const REALM = 'https://auth.fuzz/token';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}
const ociError = (status: number, code: string) => json(status, { errors: [{ code, message: code.toLowerCase(), detail: null }] });

/** A registry that behaves: token auth, a manifest, a blob, tags, uploads; 404 for the rest. */
const registry: typeof fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
  const url = new URL(String(input));
  const method = init.method ?? 'GET';
  if (init.body instanceof ReadableStream) await new Response(init.body).arrayBuffer();
  if (url.href.startsWith(REALM)) return json(200, { token: 'fuzz-token', expires_in: 300 });
  if (new Headers(init.headers).get('authorization') !== 'Bearer fuzz-token') {
    return new Response(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'auth', detail: null }] }), {
      status: 401,
      headers: { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="${REALM}",service="fuzz"` },
    });
  }
  const path = url.pathname;
  if (path === '/v2/') return json(200, {});
  if (/\/blobs\/uploads\/?$/.test(path) && method === 'POST') {
    return new Response(null, { status: 202, headers: { location: `${path.replace(/\/?$/, '/')}u1`, 'docker-upload-uuid': 'u1' } });
  }
  if (/\/blobs\/uploads\/u1$/.test(path)) return new Response(null, { status: method === 'PUT' ? 201 : 202, headers: { location: path } });
  if (/\/manifests\/[^/]+$/.test(path)) {
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] });
    if (method === 'PUT' || method === 'DELETE') return new Response(null, { status: method === 'PUT' ? 201 : 202 });
    return new Response(method === 'HEAD' ? null : manifest, {
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': DIGEST, 'content-length': String(manifest.length) },
    });
  }
  if (/\/blobs\/sha256:[0-9a-f]{64}$/.test(path)) {
    return new Response(method === 'HEAD' ? null : new Uint8Array(1000), { headers: { 'content-length': '1000', 'docker-content-digest': DIGEST } });
  }
  if (path.endsWith('/tags/list')) return json(200, { name: path.slice(4, -10), tags: ['v1', 'latest'] }, { link: `<${path}?n=2&last=v1>; rel="next"` });
  if (path.includes('/referrers/')) return json(200, { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
  return ociError(404, 'NAME_UNKNOWN');
}) as typeof fetch;

interface Proxy {
  name: string;
  handler: FetchHandler;
  proxyFailures: unknown[];
}

function proxyWith(name: string, options: Parameters<typeof createRegistryProxy>[0]): Proxy {
  const proxyFailures: unknown[] = [];
  const handler = createRegistryProxy({
    ...options,
    fetch: registry,
    // An OciError of the upstream's (5xx) is reported too; anything else is the proxy's own failure.
    onError: (error) => {
      if (!(error instanceof Error && error.name === 'OciError')) proxyFailures.push(error);
    },
  });
  return { name, handler, proxyFailures };
}

const PROXIES: Proxy[] = [
  proxyWith('client dance, prefix', { upstream: UPSTREAM, repositoryPrefix: 'team/project', readOnly: false }),
  proxyWith('proxy credentials, redirects followed', { upstream: UPSTREAM, credentials: { username: 'u', password: 'p' }, redirects: 'follow' }),
  proxyWith('own auth, routing table, rules', {
    auth: { tokenSecret: 'fuzz-secret-0123456789-0123456789-x', users: {} },
    trustForwardedHeaders: true,
    upstreams: [
      { upstream: UPSTREAM, name: 'hub', pathPrefix: 'hub', namespaces: ['docker.io'], officialImages: true, deny: [{ repository: 'hub/secret/**' }] },
      { upstream: UPSTREAM, name: 'main', allow: [{ repository: 'app/**', tags: ['v*'] }], readOnly: false },
    ],
  }),
];

// ---- the property ----
/** Statuses seen, so a run that only ever reached one error path would show. */
const statuses = new Map<number, number>();

async function expectWellFormed(proxy: Proxy, request: Request): Promise<void> {
  let response: Response;
  try {
    response = await proxy.handler(request);
  } catch (error) {
    throw new Error(`${proxy.name}: ${request.method} ${request.url} threw: ${String(error)}`);
  }
  const where = `${proxy.name}: ${request.method} ${request.url} → ${response.status}`;
  statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  expect(response.status, where).toBeGreaterThanOrEqual(200);
  expect(response.status, where).toBeLessThan(600);
  if (response.status >= 500) expect([502, 504], where).toContain(response.status);
  const text = await response.text();
  if (response.status >= 400 && request.method !== 'HEAD') {
    expect(response.headers.get('content-type'), where).toContain('json');
    const parsed = JSON.parse(text) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    expect(Array.isArray(parsed.errors) && typeof parsed.errors[0]?.code === 'string' && typeof parsed.errors[0]?.message === 'string', `${where}: ${text}`).toBe(true);
  }
  expect(proxy.proxyFailures, where).toEqual([]);
}

/** Builds the request, or undefined when even the Request constructor refuses the input. */
function tryRequest(url: string, init: RequestInit): Request | undefined {
  try {
    return new Request(url, init);
  } catch {
    return undefined;
  }
}

const params = (runs: number) => ({ seed: SEED, numRuns: Math.max(1, Math.round((runs * RUNS) / 1500)), endOnFailure: true });

describe('fuzzing the handler (issue 9)', () => {
  it('registry requests: any path, method, header and body', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(PROXIES.length - 1), method, host, path, query, headers, body, async (which, verb, hostName, target, search, headerSet, payload) => {
        const init: RequestInit & { duplex?: string } = { method: verb, headers: Object.entries(headerSet).filter(([, value]) => value !== undefined) as [string, string][] };
        if (payload !== undefined && verb !== 'GET' && verb !== 'HEAD') init.body = payload;
        const request = tryRequest(`http://${hostName}${target}${search}`, init);
        if (request) await expectWellFormed(PROXIES[which]!, request);
      }),
      params(1500),
    );
    // The cases reach the upstream and back (2xx) as well as every kind of refusal.
    const seen = [...statuses.keys()];
    for (const status of [200, 400, 401, 404]) expect(seen, JSON.stringify([...statuses])).toContain(status);
  });

  it('token requests: GET queries and POST forms with any scopes', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(PROXIES.length - 1), fc.boolean(), tokenQuery, tokenForm, authorization, async (which, post, search, form, auth) => {
        const init: RequestInit = { method: post ? 'POST' : 'GET', headers: auth ? { authorization: auth } : {} };
        if (post) {
          init.body = form;
          (init.headers as Record<string, string>)['content-type'] = 'application/x-www-form-urlencoded';
        }
        const request = tryRequest(`http://proxy.test/_token?${post ? '' : search}`, init);
        if (request) await expectWellFormed(PROXIES[which]!, request);
      }),
      params(800),
    );
  });

  it('option objects: a proxy, or a RegistryProxyOptionsError naming the option — nothing else', { timeout: 60_000 }, () => {
    const value = fc.oneof(
      fc.constantFrom(undefined, null, true, false, 0, -1, 1.5, 65536, '', 'docker.io', 'https://x.test', 'ftp://x', 'a b', '**', [], {}),
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.record({ repository: fc.string({ maxLength: 8 }), upstream: fc.string({ maxLength: 8 }) }, { requiredKeys: [] })), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom('username', 'password', 'authorization', 'headers', 'idle', 'users', 'tokenSecret', 'upstream', 'pathPrefix'), fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant({}))),
    );
    const keys = [
      'upstream', 'repositoryPrefix', 'officialImages', 'credentials', 'redirects', 'readOnly', 'allow', 'deny', 'anonymousPull',
      'upstreams', 'auth', 'browserRedirect', 'tokenPath', 'publicUrl', 'trustForwardedHeaders', 'timeouts', 'onError', 'fetch', 'unknownOption',
    ] as const;
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 5 }), (options) => {
        try {
          createRegistryProxy({ ...(options as Record<string, unknown>), fetch: registry } as never);
        } catch (error) {
          expect(error, String(error)).toBeInstanceOf(RegistryProxyOptionsError);
        }
      }),
      params(1500),
    );
  });
});
