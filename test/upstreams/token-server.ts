/**
 * The pieces of a Docker token server (distribution `docs/content/spec/auth/token.md`,
 * `oauth.md`) that the registry mocks share, plus the registry-side bearer check.
 */
import type { Need } from './distribution.ts';
import type { RegistryStore } from './images.ts';
import { json, sized, type HeaderMap } from './responses.ts';
import {
  allows,
  bearerToken,
  readTokenRequest,
  type Access,
  type Accounts,
  type Grant,
  type TokenIssuer,
  type TokenRequest,
} from './tokens.ts';

export type BearerVerdict =
  | { kind: 'missing' }
  | { kind: 'invalid'; reason: 'unknown' | 'expired' }
  | { kind: 'insufficient'; grant: Grant }
  | { kind: 'granted'; grant: Grant };

/** What the registry thinks of the request's Bearer token for `need`. */
export function judgeBearer(request: Request, issuer: TokenIssuer, need: Need): BearerVerdict {
  const token = bearerToken(request);
  if (token === undefined) return { kind: 'missing' };
  const check = issuer.check(token);
  if (!check.ok) return { kind: 'invalid', reason: check.reason };
  const grant = check.grant;
  if (need.kind === 'ping') return { kind: 'granted', grant };
  const ok =
    need.kind === 'catalog'
      ? allows(grant, 'registry', 'catalog', '*')
      : need.actions.every((action) => allows(grant, 'repository', need.name, action));
  return ok ? { kind: 'granted', grant } : { kind: 'insufficient', grant };
}

/** An anonymous-friendly pull: only `pull` on an existing public repository. */
export function isPublicPull(store: RegistryStore, need: Need): boolean {
  if (need.kind !== 'repository') return false;
  const repo = store.repository(need.name);
  return repo !== undefined && !repo.private && need.actions.every((a) => a === 'pull');
}

/**
 * The access a token server grants: the intersection of what was asked and what the account
 * may do, never an error (token.md: "intersection… must not be considered an error").
 * Pull only; `registry:catalog:*` only for authenticated accounts when `catalog` is on.
 */
export function grantPull(
  store: RegistryStore,
  scopes: Access[],
  authenticated: boolean,
  catalog = false,
  /** ACL-style token servers (cesanta/docker_auth) grant pull on names that do not exist yet. */
  grantMissing = false,
): Access[] {
  const granted: Access[] = [];
  for (const scope of scopes) {
    if (scope.type === 'registry' && scope.name === 'catalog' && catalog && authenticated) {
      granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    if (scope.type !== 'repository' || !scope.actions.includes('pull')) continue;
    const repo = store.repository(scope.name);
    if (!repo && !grantMissing) continue;
    if (repo?.private && !authenticated) continue;
    granted.push({ type: 'repository', name: scope.name, actions: ['pull'] });
  }
  return granted;
}

/** A GET answer of `{"token":…}` alone (GHCR, GCR, AR, Quay, ECR Public). */
export function tokenOnly(token: string): Record<string, unknown> {
  return { token };
}

/** token.md's full GET answer: `token` and `access_token` alike, `expires_in`, `issued_at` (distribution; Hub DH-3). */
export function tokenWithAccessToken(expiresIn: number): (token: string, grant: Grant) => Record<string, unknown> {
  return (token, grant) => ({ token, access_token: token, expires_in: expiresIn, issued_at: new Date(grant.issuedAt * 1000).toISOString() });
}

/** What a token server issues from: the registry's issuer, accounts and content (a mock's base). */
export interface TokenServerState {
  issuer: TokenIssuer;
  accounts: Accounts;
  store: RegistryStore;
}

export interface TokenEndpointOptions {
  /** Whether POST (OAuth2 form) is understood; GCR answers 404 (GCR-2). */
  allowPost: boolean;
  /** The JSON a successful GET returns. */
  shape(token: string, grant: Grant, tokenRequest: TokenRequest): Record<string, unknown>;
  /** Wrong credentials. */
  badCredentials(request: Request): Response;
  /** Called before issuing; a registry may refuse (GHCR/AR refuse anonymous private pulls). */
  refuse?(request: Request, tokenRequest: TokenRequest, granted: Access[], authenticated: boolean): Response | undefined;
  /** Also grant `registry:catalog:*` to accounts. */
  catalog?: boolean;
  /** Grant pull on repositories that do not exist (ACL-based servers). */
  grantMissing?: boolean;
  headers?: HeaderMap;
  contentType?: string;
}

export function createTokenEndpoint(state: TokenServerState, options: TokenEndpointOptions): (request: Request) => Promise<Response> {
  const headers = { 'content-type': options.contentType ?? 'application/json', ...options.headers };
  return async (request) => {
    if (request.method === 'POST' && !options.allowPost) {
      return sized(request, 404, '404 page not found\n', { 'content-type': 'text/plain; charset=utf-8' });
    }
    if (request.method !== 'GET' && request.method !== 'POST') {
      return sized(request, 405, 'Method Not Allowed\n', { 'content-type': 'text/plain' });
    }
    const tokenRequest = await readTokenRequest(request);
    let subject = '';
    if (tokenRequest.grantType === 'refresh_token') {
      const refreshed = tokenRequest.refreshToken ? state.issuer.refreshSubject(tokenRequest.refreshToken) : undefined;
      if (refreshed === undefined) return options.badCredentials(request);
      subject = refreshed;
    } else if (tokenRequest.credentials) {
      const { username, password } = tokenRequest.credentials;
      if (!state.accounts.verify(username, password)) return options.badCredentials(request);
      subject = username;
    } else if (tokenRequest.method === 'POST') {
      // oauth.md: a POST must carry a password or a refresh token.
      return json(request, 400, { error: 'unsupported_grant_type' }, headers, false);
    }
    const authenticated = subject !== '';
    const granted = grantPull(state.store, tokenRequest.scopes, authenticated, options.catalog ?? false, options.grantMissing ?? false);
    const refusal = options.refuse?.(request, tokenRequest, granted, authenticated);
    if (refusal) return refusal;
    const { token, grant } = state.issuer.issue(subject, granted);
    if (tokenRequest.method === 'POST') {
      // oauth.md response shape.
      const body: Record<string, unknown> = {
        access_token: token,
        scope: granted.map((a) => `${a.type}:${a.name}:${a.actions.join(',')}`).join(' '),
        expires_in: state.issuer.options.ttlSeconds,
        issued_at: new Date(grant.issuedAt * 1000).toISOString(),
      };
      if (tokenRequest.offline && authenticated) body.refresh_token = state.issuer.issueRefreshToken(subject);
      return json(request, 200, body, headers, false);
    }
    const body = options.shape(token, grant, tokenRequest);
    if (tokenRequest.offline && authenticated) body.refresh_token = state.issuer.issueRefreshToken(subject);
    return json(request, 200, body, headers, false);
  };
}
