import { OciError } from '../protocol/errors.ts';
import { validateCredentials } from '../options/resolve.ts';
import type { UpstreamCredentials, UpstreamCredentialsProvider } from '../options/types.ts';
import { discardBody, fetchUpstream, type UpstreamFetchSettings } from './fetch.ts';
import { findChallenge, parseWwwAuthenticate, type Challenge } from '../protocol/www-authenticate.ts';

/** How the upstream wants to be authenticated, learned from its `WWW-Authenticate` challenges. */
export type UpstreamScheme =
  | { kind: 'bearer'; realm: URL; service: string | undefined }
  | { kind: 'basic' }
  | { kind: 'none' };

/** Reads the upstream's scheme from a challenge header; `undefined` when there is none we can answer. */
export function schemeFromChallenges(challenges: Challenge[]): UpstreamScheme | undefined {
  const bearer = findChallenge(challenges, 'bearer');
  const realm = bearer?.params.get('realm');
  if (bearer && realm) {
    try {
      const realmUrl = new URL(realm);
      if (realmUrl.protocol === 'https:' || realmUrl.protocol === 'http:') {
        return { kind: 'bearer', realm: realmUrl, service: bearer.params.get('service') };
      }
    } catch {
      // A malformed realm is treated as no usable challenge.
    }
  }
  if (findChallenge(challenges, 'basic')) return { kind: 'basic' };
  return undefined;
}

interface CachedToken {
  authorization: string | undefined;
  expiresAt: number;
}

const MAX_CACHED_TOKENS = 1000;
/** The token spec's default lifetime when a token server omits `expires_in` (GHCR does). */
const DEFAULT_TOKEN_SECONDS = 60;

function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

function credentialsAuthorization(credentials: UpstreamCredentials): string {
  return 'authorization' in credentials
    ? credentials.authorization
    : basicAuthorization(credentials.username, credentials.password);
}

function isStaticBearer(credentials: UpstreamCredentials | undefined): credentials is { authorization: string } {
  return credentials !== undefined && 'authorization' in credentials && /^bearer /i.test(credentials.authorization);
}

/**
 * Performs the upstream token dance on the proxy's side — anonymously, or with credentials the
 * proxy holds. Tokens are cached per scope until shortly before they expire and shared between
 * concurrent requests. Nothing here ever reaches a client.
 */
export class UpstreamAuthenticator {
  #scheme: UpstreamScheme | undefined;
  #discovering: Promise<void> | undefined;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pending = new Map<string, Promise<CachedToken>>();
  readonly #upstream: URL;
  readonly #provider: UpstreamCredentialsProvider | undefined;
  readonly #settings: UpstreamFetchSettings;

  constructor(upstream: URL, provider: UpstreamCredentialsProvider | undefined, settings: UpstreamFetchSettings) {
    this.#upstream = upstream;
    this.#provider = provider;
    this.#settings = settings;
  }

  /** Learns the scheme from an upstream 401; returns whether a retry could now succeed. */
  learn(response: Response): boolean {
    const header = response.headers.get('www-authenticate');
    if (!header) return false;
    const scheme = schemeFromChallenges(parseWwwAuthenticate(header));
    if (!scheme || (scheme.kind === 'basic' && !this.#provider)) return false;
    this.#scheme = scheme;
    return true;
  }

  /** Forgets a token the upstream refused, so the next attempt fetches a new one. */
  invalidate(scope: string): void {
    if (this.#scheme?.kind === 'bearer') this.#tokens.delete(this.#cacheKey(this.#scheme, scope));
  }

  /** The `Authorization` value for an upstream request needing `scope` (`undefined`: send none). */
  async authorization(scope: string): Promise<string | undefined> {
    if (!this.#scheme) await this.#discover();
    const scheme = this.#scheme!;
    // A cached token answers without asking the provider (which may call a metadata server).
    const key = scheme.kind === 'bearer' ? this.#cacheKey(scheme, scope) : '';
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.authorization;

    const credentials = await this.#credentials();
    if (isStaticBearer(credentials)) return credentials.authorization; // AUTH_HEADER="Bearer …": sent as it is
    if (scheme.kind === 'none') return undefined;
    if (scheme.kind === 'basic') return credentials && credentialsAuthorization(credentials);

    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#requestToken(scheme, scope, credentials).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return (await pending).authorization;
  }

  /**
   * Asks the upstream's `/v2/` once how it authenticates, so even the first request (and every
   * push, whose body cannot be replayed after a 401) goes out with the right credentials.
   */
  #discover(): Promise<void> {
    this.#discovering ??= (async () => {
      const response = await fetchUpstream(this.#settings, new URL('/v2/', this.#upstream), { method: 'GET' });
      discardBody(response);
      const header = response.headers.get('www-authenticate');
      const scheme = response.status === 401 && header ? schemeFromChallenges(parseWwwAuthenticate(header)) : undefined;
      this.#scheme ??= scheme ?? { kind: 'none' };
    })().finally(() => (this.#discovering = undefined));
    return this.#discovering;
  }

  #cacheKey(scheme: { realm: URL; service: string | undefined }, scope: string): string {
    return `${scheme.realm.href} ${scheme.service ?? ''} ${scope}`;
  }

  async #credentials(): Promise<UpstreamCredentials | undefined> {
    if (!this.#provider) return undefined;
    let credentials: unknown;
    try {
      credentials = await this.#provider();
    } catch (error) {
      throw new OciError(502, 'UNAUTHORIZED', 'the proxy could not obtain its upstream credentials', {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    return validateCredentials(credentials, 'credentials (from provider)');
  }

  async #requestToken(
    scheme: { realm: URL; service: string | undefined },
    scope: string,
    credentials: UpstreamCredentials | undefined,
  ): Promise<CachedToken> {
    const url = new URL(scheme.realm);
    if (scheme.service) url.searchParams.set('service', scheme.service);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credentials) headers.authorization = credentialsAuthorization(credentials);
    const response = await fetchUpstream(this.#settings, url, { method: 'GET', headers });
    if (!response.ok) {
      discardBody(response);
      // The token server's answer may echo credentials or account details: report only its status.
      if (response.status === 429) {
        throw new OciError(429, 'TOOMANYREQUESTS', 'the upstream token server is rate limiting the proxy', null, retryAfter(response));
      }
      // 401/403: the upstream will not let the proxy pull this (private, missing, or wrong credentials).
      throw response.status === 401 || response.status === 403
        ? new OciError(403, 'DENIED', `the upstream refused the proxy access to this repository (token server status ${response.status})`)
        : new OciError(502, 'UPSTREAM_INVALID', `the upstream token server failed (status ${response.status})`);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new OciError(502, 'UPSTREAM_INVALID', 'the upstream token server sent an unreadable token response');
    }
    const token = typeof body.token === 'string' && body.token ? body.token : body.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new OciError(502, 'UPSTREAM_INVALID', 'the upstream token server sent no token');
    }
    const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    // Renew shortly before expiry so a token never lapses mid-request.
    const margin = Math.min(30, seconds * 0.1);
    const entry = { authorization: `Bearer ${token}`, expiresAt: Date.now() + (seconds - margin) * 1000 };
    if (this.#tokens.size >= MAX_CACHED_TOKENS) this.#tokens.delete(this.#tokens.keys().next().value!);
    this.#tokens.set(this.#cacheKey(scheme, scope), entry);
    return entry;
  }
}

function retryAfter(response: Response): Record<string, string> {
  const value = response.headers.get('retry-after');
  return value === null ? {} : { 'retry-after': value };
}
