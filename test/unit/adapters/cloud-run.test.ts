/**
 * The Cloud Run pieces that talk to Google: the metadata-server credentials provider (mocked
 * with msw, as the metadata server answers) and the Cloud Logging line format.
 */
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cloudErrorEntry, cloudRequestEntry, parseTraceContext } from '../../../adapters/cloud-run/logging.ts';
import { isGoogleRegistry } from '../../../adapters/cloud-run/serve.ts';
import { fetchProjectId, metadataCredentials, metadataOriginFromEnv } from '../../../adapters/cloud-run/gcp-metadata.ts';
import type { RequestLogEntry } from '../../../lib/request-log.ts';

const METADATA = 'http://metadata.google.internal/computeMetadata/v1';
const TOKEN_URL = `${METADATA}/instance/service-accounts/default/token`;

let tokenRequests: Request[] = [];
let nextToken = 1;
let expiresIn = 3599;

const server = setupServer(
  http.get(TOKEN_URL, ({ request }) => {
    tokenRequests.push(request);
    if (request.headers.get('metadata-flavor') !== 'Google') return new HttpResponse('Missing Metadata-Flavor', { status: 403 });
    return HttpResponse.json(
      { access_token: `ya29.token-${nextToken++}`, expires_in: expiresIn, token_type: 'Bearer' },
      { headers: { 'metadata-flavor': 'Google' } },
    );
  }),
  http.get(`${METADATA}/project/project-id`, () => new HttpResponse('my-project', { headers: { 'metadata-flavor': 'Google' } })),
);

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  tokenRequests = [];
  nextToken = 1;
  expiresIn = 3599;
  vi.useRealTimers();
});
afterAll(() => server.close());

describe('metadataCredentials', () => {
  it('returns the service account token as the password of oauth2accesstoken, asking with Metadata-Flavor', async () => {
    const credentials = await metadataCredentials()();
    expect(credentials).toEqual({ username: 'oauth2accesstoken', password: 'ya29.token-1' });
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]!.headers.get('metadata-flavor')).toBe('Google');
  });

  it('caches the token and shares one fetch between concurrent callers', async () => {
    const provider = metadataCredentials();
    const results = await Promise.all([provider(), provider(), provider()]);
    expect(new Set(results.map((r) => ('password' in r ? r.password : '')))).toEqual(new Set(['ya29.token-1']));
    await provider();
    expect(tokenRequests).toHaveLength(1);
  });

  it('refreshes the token before it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const provider = metadataCredentials({ refreshBefore: 300_000 });
    expect(await provider()).toMatchObject({ password: 'ya29.token-1' });
    vi.setSystemTime(new Date('2026-01-01T00:54:00Z')); // 5 min 59 s left: still good
    expect(await provider()).toMatchObject({ password: 'ya29.token-1' });
    vi.setSystemTime(new Date('2026-01-01T00:55:00Z')); // within the 5 min margin
    expect(await provider()).toMatchObject({ password: 'ya29.token-2' });
    expect(tokenRequests).toHaveLength(2);
  });

  it('refreshes a short-lived token at half its remaining life', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    expiresIn = 120;
    const provider = metadataCredentials({ refreshBefore: 300_000 });
    await provider();
    vi.setSystemTime(new Date('2026-01-01T00:00:59Z'));
    expect(await provider()).toMatchObject({ password: 'ya29.token-1' });
    vi.setSystemTime(new Date('2026-01-01T00:01:00Z'));
    expect(await provider()).toMatchObject({ password: 'ya29.token-2' });
  });

  it('fails without echoing the response body, and tries again on the next call', async () => {
    server.use(http.get(TOKEN_URL, () => new HttpResponse('secret-ish body', { status: 500, headers: { 'metadata-flavor': 'Google' } })));
    const provider = metadataCredentials();
    const error = (await provider().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('500');
    expect(error.message).not.toContain('secret-ish');
    server.resetHandlers();
    expect(await provider()).toMatchObject({ password: 'ya29.token-1' });
  });

  it('refuses an answer without Metadata-Flavor: Google (not the metadata server)', async () => {
    server.use(http.get(TOKEN_URL, () => HttpResponse.json({ access_token: 'from-a-captive-portal', expires_in: 3599 })));
    await expect(metadataCredentials()()).rejects.toThrow(/Metadata-Flavor/);
  });

  it('honours GCE_METADATA_HOST', async () => {
    expect(metadataOriginFromEnv({ GCE_METADATA_HOST: '127.0.0.1:8089' })).toBe('http://127.0.0.1:8089');
    expect(metadataOriginFromEnv({})).toBeUndefined();
    server.use(
      http.get('http://127.0.0.1:8089/computeMetadata/v1/instance/service-accounts/default/token', () =>
        HttpResponse.json({ access_token: 'ya29.local', expires_in: 3599 }, { headers: { 'metadata-flavor': 'Google' } }),
      ),
    );
    expect(await metadataCredentials({ origin: 'http://127.0.0.1:8089' })()).toMatchObject({ password: 'ya29.local' });
  });

  it('reads the project id', async () => {
    expect(await fetchProjectId()).toBe('my-project');
  });
});

describe('isGoogleRegistry', () => {
  it.each([
    ['gcr.io', true],
    ['eu.gcr.io', true],
    ['us-docker.pkg.dev', true],
    ['https://europe-west1-docker.pkg.dev', true],
    ['ghcr.io', false],
    ['docker.io', false],
    ['http://127.0.0.1:5000', false],
    [undefined, false],
  ])('%s → %s', (upstream, expected) => {
    expect(isGoogleRegistry(upstream)).toBe(expected);
  });
});

function logEntry(headers: Record<string, string>, status = 200): RequestLogEntry {
  const request = new Request('http://proxy.test/v2/app/blobs/sha256:abc?secret=1', { headers });
  const response = new Response('x', { status, headers: { 'content-length': '1234' } });
  return { method: 'GET', path: '/v2/app/blobs/sha256:abc', status, durationMs: 12.5, userAgent: 'containerd/1.7', request, response };
}

describe('Cloud Logging lines', () => {
  it('reads X-Cloud-Trace-Context (decimal span id to 16 hex digits) and traceparent', () => {
    expect(parseTraceContext(new Headers({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' }))).toEqual({
      traceId: '105445aa7843bc8bf206b12000100000',
      spanId: '0000000000000001',
      sampled: true,
    });
    expect(parseTraceContext(new Headers({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00' }))).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: false,
    });
    expect(parseTraceContext(new Headers({ 'x-cloud-trace-context': 'garbage' }))).toBeUndefined();
  });

  it('an access entry has severity, httpRequest and the trace of the project', () => {
    const entry = cloudRequestEntry(
      logEntry({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/2;o=1', authorization: 'Bearer client-secret' }),
      'my-project',
    );
    expect(entry).toEqual({
      severity: 'INFO',
      message: 'GET /v2/app/blobs/sha256:abc 200',
      httpRequest: {
        requestMethod: 'GET',
        requestUrl: '/v2/app/blobs/sha256:abc',
        status: 200,
        userAgent: 'containerd/1.7',
        responseSize: '1234',
        latency: '0.012500s',
      },
      'logging.googleapis.com/trace': 'projects/my-project/traces/105445aa7843bc8bf206b12000100000',
      'logging.googleapis.com/spanId': '0000000000000002',
      'logging.googleapis.com/trace_sampled': true,
    });
    // Neither the client's Authorization nor the query reaches the log.
    expect(JSON.stringify(entry)).not.toMatch(/client-secret|secret=1/);
  });

  it('maps status to severity and leaves the trace out without a project id', () => {
    expect(cloudRequestEntry(logEntry({}, 404), 'p').severity).toBe('WARNING');
    expect(cloudRequestEntry(logEntry({}, 502), 'p').severity).toBe('ERROR');
    const untraced = cloudRequestEntry(logEntry({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' }), undefined);
    expect(Object.keys(untraced).filter((key) => key.startsWith('logging.googleapis.com/'))).toEqual([]);
  });

  it('an error entry is ERROR with the request path and trace, without the query', () => {
    const { request } = logEntry({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000' });
    expect(cloudErrorEntry(new Error('upstream reset'), request, 'p')).toEqual({
      severity: 'ERROR',
      message: 'GET /v2/app/blobs/sha256:abc: upstream reset',
      'logging.googleapis.com/trace': 'projects/p/traces/105445aa7843bc8bf206b12000100000',
    });
  });
});
