/**
 * Plumbing for the multi-upstream tests (issue 4): an msw server, a `req(proxy, 'GET /v2/…')`
 * helper that calls the proxy's fetch handler with the client's `Request` (optionally to another
 * host, for host routing), and cheap password hashes for the proxy's own users.
 */
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { FetchHandler } from '../../../lib/handler.ts';
import { hashPassword } from '../../../lib/auth/password-hash.ts';
import { MANIFEST_ACCEPT } from '../../upstreams/images.ts';

export const PROXY_HOST = 'proxy.example.com';

/** An msw server for this file: unhandled requests fail, handlers reset after each test. */
export function useMsw() {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
  return server;
}

export interface ReqInit extends RequestInit {
  /** The request's host (routes match it), e.g. `ghcr.example.com`. @default proxy.example.com */
  host?: string;
}

/** `req(proxy, 'GET /v2/alpine/manifests/latest')`; manifest requests get a full Accept unless one is given. */
export function req(proxy: FetchHandler, line: string, init: ReqInit = {}): Promise<Response> {
  const space = line.indexOf(' ');
  const method = line.slice(0, space);
  const path = line.slice(space + 1);
  const { host = PROXY_HOST, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (!headers.has('accept') && path.includes('/manifests/')) headers.set('accept', MANIFEST_ACCEPT);
  return proxy(new Request(`http://${host}${path}`, { ...rest, method, headers }));
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

export interface ErrorBody {
  errors: { code: string; message: string; detail: unknown }[];
}

export async function errorsOf(response: Response): Promise<ErrorBody['errors']> {
  return ((await response.json()) as ErrorBody).errors;
}

/** Cheap hashes (the fewest PBKDF2 iterations the format accepts), so tests stay fast. */
export function testHash(password: string): Promise<string> {
  return hashPassword(password, 1000);
}

/** A JWT's claims, unchecked (the proxy's own HS256 tokens). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

export async function tokenOf(response: Response): Promise<string> {
  const body = (await response.json()) as { token?: string; access_token?: string };
  return (body.token ?? body.access_token)!;
}
