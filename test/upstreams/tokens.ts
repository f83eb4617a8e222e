/**
 * Token issuing and checking for the mock token servers. Tokens are remembered server-side,
 * so a forged, stale or expired token is rejected like a real registry would.
 */
import { randomBytes } from 'node:crypto';

export interface Access {
  type: string;
  name: string;
  actions: string[];
}

export interface Grant {
  /** Account name, or '' for anonymous (Hub's `sub`). */
  subject: string;
  access: Access[];
  issuedAt: number;
  expiresAt: number;
}

/**
 * Parses scope strings (`repository:library/alpine:pull,push`, possibly several per value,
 * space-separated as in a POST form). The name may contain `host:port`, so the type ends at
 * the first colon and the actions start after the last one (protocol.md section 2).
 */
export function parseScopes(values: Iterable<string>): Access[] {
  const out: Access[] = [];
  for (const value of values) {
    for (const scope of value.split(' ')) {
      if (!scope) continue;
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || last === first) {
        // ECR Public's pseudo-scope `aws`: no resource, no actions.
        out.push({ type: scope, name: '', actions: [] });
        continue;
      }
      out.push({
        type: scope.slice(0, first).replace(/\(.*\)$/, ''),
        name: scope.slice(first + 1, last),
        actions: scope.slice(last + 1).split(','),
      });
    }
  }
  return out;
}

export function scopeString(access: Access): string {
  return `${access.type}:${access.name}:${access.actions.join(',')}`;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Decodes the claims of a JWT-style token (tests use it to inspect Hub's `access`). */
export function decodeJwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
}

export type TokenStyle =
  /** Unsigned JWT-shaped (Hub, Quay, distribution): header.claims.signature. */
  | 'jwt'
  /** Opaque base64 of `v1:…` (GHCR, GH-2: tokens start with `djE6`). */
  | 'ghcr'
  /** Opaque random string (GCR, AR, ECR Public). */
  | 'opaque';

export interface TokenIssuerOptions {
  style: TokenStyle;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  /** Extra per-access claims (Hub's pull_limit parameters). */
  accessParameters?: Record<string, string>;
}

export type TokenCheck = { ok: true; grant: Grant } | { ok: false; reason: 'unknown' | 'expired' };

export class TokenIssuer {
  private readonly tokens = new Map<string, Grant>();
  private readonly refreshTokens = new Map<string, string>();

  readonly options: TokenIssuerOptions;

  constructor(options: TokenIssuerOptions) {
    this.options = options;
  }

  issue(subject: string, access: Access[]): { token: string; grant: Grant } {
    const now = Math.floor(Date.now() / 1000);
    const grant: Grant = { subject, access, issuedAt: now, expiresAt: now + this.options.ttlSeconds };
    const token = this.mint(grant);
    this.tokens.set(token, grant);
    return { token, grant };
  }

  private mint(grant: Grant): string {
    const nonce = randomBytes(12).toString('hex');
    switch (this.options.style) {
      case 'jwt': {
        const params = this.options.accessParameters;
        const claims = {
          access: grant.access.map((a) => ({ ...a, ...(params ? { parameters: params } : {}) })),
          aud: this.options.audience,
          exp: grant.expiresAt,
          iat: grant.issuedAt,
          iss: this.options.issuer,
          jti: `mock_jti_${nonce}`,
          nbf: grant.issuedAt - 300,
          sub: grant.subject,
        };
        return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.${nonce}`;
      }
      case 'ghcr':
        return Buffer.from(`v1:${nonce}`).toString('base64');
      case 'opaque':
        return `ya29.mock-${nonce}`;
    }
  }

  check(token: string): TokenCheck {
    const grant = this.tokens.get(token);
    if (!grant) return { ok: false, reason: 'unknown' };
    if (grant.expiresAt * 1000 <= Date.now()) return { ok: false, reason: 'expired' };
    return { ok: true, grant };
  }

  /** Makes every issued token expired (a test of token refresh). */
  expireAll(): void {
    for (const grant of this.tokens.values()) grant.expiresAt = 0;
  }

  issueRefreshToken(subject: string): string {
    const token = `refresh-${randomBytes(12).toString('hex')}`;
    this.refreshTokens.set(token, subject);
    return token;
  }

  refreshSubject(token: string): string | undefined {
    return this.refreshTokens.get(token);
  }
}

export function allows(grant: Grant, type: string, name: string, action: string): boolean {
  // `*` names: registry-wide tokens such as ECR Public's get-authorization-token.
  return grant.access.some((a) => a.type === type && (a.name === name || a.name === '*') && (a.actions.includes(action) || a.actions.includes('*')));
}

export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get('authorization');
  const match = header ? /^Bearer\s+(.+)$/i.exec(header) : null;
  return match?.[1];
}

export function basicCredentials(request: Request): { username: string; password: string } | undefined {
  const header = request.headers.get('authorization');
  const match = header ? /^Basic\s+(.+)$/i.exec(header) : null;
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString();
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The accounts a token server accepts. */
export class Accounts {
  private readonly users = new Map<string, string>();

  set(username: string, password: string): void {
    this.users.set(username, password);
  }

  clear(): void {
    this.users.clear();
  }

  verify(username: string, password: string): boolean {
    return this.users.get(username) === password;
  }
}

/** The credentials of a token request: Basic header (GET) or an OAuth2 form (POST). */
export interface TokenRequest {
  method: 'GET' | 'POST';
  scopes: Access[];
  service: string | null;
  /** Present when credentials were sent at all. */
  credentials?: { username: string; password: string };
  refreshToken?: string;
  grantType?: string;
  offline: boolean;
  clientId: string | null;
}

export async function readTokenRequest(request: Request): Promise<TokenRequest> {
  const url = new URL(request.url);
  if (request.method === 'POST') {
    // OAuth2 form (distribution oauth.md): a single space-separated `scope` field.
    const form = new URLSearchParams(await request.text());
    const grantType = form.get('grant_type') ?? undefined;
    const username = form.get('username');
    const password = form.get('password');
    const refreshToken = form.get('refresh_token') ?? undefined;
    return {
      method: 'POST',
      scopes: parseScopes(form.getAll('scope')),
      service: form.get('service'),
      ...(grantType === 'password' && username !== null && password !== null ? { credentials: { username, password } } : {}),
      ...(grantType ? { grantType } : {}),
      ...(refreshToken ? { refreshToken } : {}),
      offline: form.get('access_type') === 'offline',
      clientId: form.get('client_id'),
    };
  }
  const basic = basicCredentials(request);
  return {
    method: 'GET',
    scopes: parseScopes(url.searchParams.getAll('scope')),
    service: url.searchParams.get('service'),
    ...(basic ? { credentials: basic } : {}),
    offline: url.searchParams.get('offline_token') === 'true',
    clientId: url.searchParams.get('client_id'),
  };
}
