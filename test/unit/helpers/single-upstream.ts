/**
 * Shared plumbing for the single-upstream proxy tests (issue 2): an msw server for the upstream
 * mocks and a `req('GET /v2/…')` helper that builds the client's `Request` to `http://proxy.test`.
 */
import { createHash } from 'node:crypto';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, expect, vi } from 'vitest';
import { MediaType, type RecordedRequest } from '../../upstreams/index.ts';

export const PROXY = 'http://proxy.test';

/** What containerd sends for manifests (upstreams.md 9.1). */
export const CONTAINERD_ACCEPT = [
  MediaType.dockerManifest,
  MediaType.dockerList,
  MediaType.ociManifest,
  MediaType.ociIndex,
  '*/*',
].join(', ');

/** Starts one msw server per test file; every test adds its upstream's handlers with `server.use`. */
export function useUpstreams() {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => {
    server.resetHandlers();
    vi.useRealTimers();
  });
  afterAll(() => server.close());
  return server;
}

/** `req('GET /v2/library/alpine/manifests/latest', { headers })` → a client Request to the proxy. */
export function req(spec: string, init: RequestInit = {}): Request {
  const space = spec.indexOf(' ');
  const method = spec.slice(0, space);
  const path = spec.slice(space + 1);
  return new Request(path.startsWith('http') ? path : PROXY + path, { method, ...init });
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The query parameters of a recorded upstream request, in order (repeated keys kept). */
export function queryOf(recorded: RecordedRequest | undefined): [string, string][] {
  expect(recorded, 'the upstream request was not made').toBeDefined();
  return [...new URL(recorded!.url).searchParams];
}

/** Gets a token through the proxy's token endpoint, as a client following the rewritten realm would. */
export async function proxyToken(
  proxy: (request: Request) => Promise<Response>,
  query: string,
  headers: HeadersInit = {},
): Promise<string> {
  const response = await proxy(req(`GET /_token?${query}`, { headers }));
  expect(response.status).toBe(200);
  const body = (await response.json()) as { token?: string; access_token?: string };
  return (body.token ?? body.access_token)!;
}

/** Every header and the body text of a response, for leak checks. */
export async function everythingIn(response: Response): Promise<string> {
  const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n');
  return `${headers}\n\n${await response.text()}`;
}
