import type { ResolvedClientAuth, ResolvedUser } from '../options/types.ts';
import { verifyPassword } from './password-hash.ts';

/** Who a request comes from, as the proxy's own authentication established it. */
export type ClientIdentity =
  | { kind: 'anonymous' }
  | { kind: 'user'; name: string; user: ResolvedUser }
  /** A token the proxy issued: it carries its grants, which are all the holder may do. */
  | { kind: 'token'; subject: string; access: TokenAccess[] };

/** One entry of a token's `access` claim, as in Docker's token spec. */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

export type Action = 'pull' | 'push';

const ISSUER = 'registry-proxy';
// Loaded on first use: most proxies never authenticate clients, and start-up time matters
// (Cloud Run cold starts).
let joseModule: Promise<typeof import('jose')> | undefined;
const jose = () => (joseModule ??= import('jose'));
/** Successful Basic checks are remembered briefly: PBKDF2 is slow by design, and clients send Basic on every request. */
const BASIC_CACHE_MS = 60_000;
const MAX_BASIC_CACHE = 1000;

function decodeBasic(value: string): { username: string; password: string } | undefined {
  try {
    const bytes = Uint8Array.from(atob(value), (char) => char.charCodeAt(0));
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    const colon = text.indexOf(':');
    return colon <= 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) };
  } catch {
    return undefined;
  }
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * The proxy's own client authentication: users with hashed passwords (Basic) and short-lived
 * HS256 tokens the proxy signs itself (jose), carrying per-repository actions.
 */
export class ClientAuthenticator {
  readonly settings: ResolvedClientAuth;
  readonly #verifiedBasic = new Map<string, { name: string; expiresAt: number }>();
  readonly #routeIds = new Map<string, Promise<string>>();

  constructor(settings: ResolvedClientAuth) {
    this.settings = settings;
  }

  /** Checks a username and password; `undefined` when they do not match a user. */
  async checkPassword(username: string, password: string): Promise<ClientIdentity | undefined> {
    const user = this.settings.users.get(username);
    if (!user) return undefined;
    const key = await sha256Hex(`${username}\n${password}\n${user.passwordHash}`);
    const cached = this.#verifiedBasic.get(key);
    if (cached && cached.expiresAt > Date.now()) return { kind: 'user', name: username, user };
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
    if (this.#verifiedBasic.size >= MAX_BASIC_CACHE) this.#verifiedBasic.delete(this.#verifiedBasic.keys().next().value!);
    this.#verifiedBasic.set(key, { name: username, expiresAt: Date.now() + BASIC_CACHE_MS });
    return { kind: 'user', name: username, user };
  }

  /**
   * Reads the request's `Authorization`: none is anonymous; a valid Basic or proxy-issued Bearer
   * is that identity; anything else (a wrong password, an expired or foreign token) is `undefined`.
   */
  async identify(authorization: string | null): Promise<ClientIdentity | undefined> {
    if (authorization === null || authorization === '') return { kind: 'anonymous' };
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (scheme === 'basic') {
      const credentials = decodeBasic(value);
      return credentials && this.checkPassword(credentials.username, credentials.password);
    }
    if (scheme === 'bearer') return this.#verifyToken(value);
    return undefined;
  }

  /**
   * The id that binds a token's grants to a route: opaque (an HMAC of the route's name under
   * the token secret, so it reveals neither the name nor the upstream address it defaults to)
   * and the same on every replica sharing the secret.
   */
  routeId(routeName: string): Promise<string> {
    let id = this.#routeIds.get(routeName);
    if (!id) {
      id = routeTokenId(this.settings.tokenSecret, routeName);
      this.#routeIds.set(routeName, id);
    }
    return id;
  }

  async issueToken(subject: string, access: TokenAccess[]): Promise<{ token: string; expiresIn: number; issuedAt: Date }> {
    const issuedAt = new Date();
    const { SignJWT } = await jose();
    const token = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(this.settings.service)
      .setSubject(subject)
      .setIssuedAt(Math.floor(issuedAt.getTime() / 1000))
      .setNotBefore(Math.floor(issuedAt.getTime() / 1000) - 10)
      .setExpirationTime(Math.floor(issuedAt.getTime() / 1000) + this.settings.tokenTtl)
      .setJti(crypto.randomUUID())
      .sign(this.settings.tokenSecret);
    return { token, expiresIn: this.settings.tokenTtl, issuedAt };
  }

  async #verifyToken(token: string): Promise<ClientIdentity | undefined> {
    try {
      const { jwtVerify } = await jose();
      const { payload } = await jwtVerify(token, this.settings.tokenSecret, {
        issuer: ISSUER,
        audience: this.settings.service,
        algorithms: ['HS256'],
      });
      const access = Array.isArray(payload.access) ? (payload.access as TokenAccess[]) : [];
      return { kind: 'token', subject: payload.sub ?? '', access };
    } catch {
      return undefined;
    }
  }
}

/** See `ClientAuthenticator.routeId`: 16 hex digits of HMAC-SHA256(secret, "route:" + name). */
export async function routeTokenId(secret: Uint8Array<ArrayBuffer>, routeName: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`route:${routeName}`)));
  return Array.from(mac.subarray(0, 8), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Whether a user's own grants (before route rules) cover an action on a repository. */
export function userMay(user: ResolvedUser, action: Action, name: string): boolean {
  return (action === 'pull' ? user.pull : user.push).some((glob) => glob.test(name));
}

/** Whether a proxy-issued token grants an action on a repository. */
export function tokenGrants(access: TokenAccess[], action: Action, name: string): boolean {
  return access.some((entry) => entry.type === 'repository' && entry.name === name && entry.actions.includes(action));
}
