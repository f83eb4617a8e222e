import { globToRegExp } from './glob.ts';
import { RegistryProxyOptionsError } from '../options/error.ts';
import { isPasswordHash } from './password-hash.ts';

/** A user the proxy itself authenticates (Basic, or the proxy's own Bearer tokens). */
export interface ProxyUser {
  /** A hash made by `registry-proxy hash-password` (PBKDF2-SHA256). Plain passwords are never stored. */
  passwordHash: string;
  /** Repository globs (as clients name them) this user may pull. @default ['**'] */
  pull?: string[];
  /** Repository globs this user may push to, on upstreams with `readOnly: false`. @default [] */
  push?: string[];
}

export interface ClientAuthOptions {
  /** Users by name. */
  users?: Record<string, ProxyUser>;
  /**
   * Secret that signs the proxy's tokens (HS256), at least 32 characters. Set it when several
   * instances serve one domain, so a token from one is valid on all.
   * @default a random secret per process
   */
  tokenSecret?: string;
  /** Lifetime of the proxy's tokens, in seconds. @default 300 */
  tokenTtl?: number;
  /** The `service` of the proxy's challenges and the audience of its tokens. @default 'registry-proxy' */
  service?: string;
}

export interface ResolvedUser {
  passwordHash: string;
  pull: RegExp[];
  push: RegExp[];
}

export interface ResolvedClientAuth {
  users: Map<string, ResolvedUser>;
  tokenSecret: Uint8Array<ArrayBuffer>;
  tokenTtl: number;
  service: string;
}

function globList(value: unknown, option: string, fallback: string[]): RegExp[] {
  const list = value ?? fallback;
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string' && /^[a-z0-9._\-/*?]+$/.test(item))) {
    throw new RegistryProxyOptionsError(option, 'must be a list of repository globs like "myorg/**"');
  }
  return list.map(globToRegExp);
}

export function resolveClientAuth(options: ClientAuthOptions): ResolvedClientAuth {
  if (typeof options !== 'object' || options === null) throw new RegistryProxyOptionsError('auth', 'must be an object');
  const users = new Map<string, ResolvedUser>();
  for (const [name, user] of Object.entries(options.users ?? {})) {
    const at = `auth.users.${name}`;
    if (!/^[A-Za-z0-9._@-]{1,128}$/.test(name)) throw new RegistryProxyOptionsError(at, 'has an invalid user name');
    if (!isPasswordHash(user?.passwordHash)) {
      throw new RegistryProxyOptionsError(`${at}.passwordHash`, 'must be a hash from `registry-proxy hash-password` (pbkdf2-sha256$…)');
    }
    users.set(name, { passwordHash: user.passwordHash, pull: globList(user.pull, `${at}.pull`, ['**']), push: globList(user.push, `${at}.push`, []) });
  }
  let tokenSecret: Uint8Array<ArrayBuffer>;
  if (options.tokenSecret !== undefined) {
    if (typeof options.tokenSecret !== 'string' || options.tokenSecret.length < 32) {
      throw new RegistryProxyOptionsError('auth.tokenSecret', 'must be a string of at least 32 characters');
    }
    tokenSecret = new TextEncoder().encode(options.tokenSecret);
  } else {
    tokenSecret = crypto.getRandomValues(new Uint8Array(32));
  }
  const tokenTtl = options.tokenTtl ?? 300;
  if (!Number.isInteger(tokenTtl) || tokenTtl < 60 || tokenTtl > 86_400) {
    throw new RegistryProxyOptionsError('auth.tokenTtl', 'must be a whole number of seconds from 60 to 86400');
  }
  const service = options.service ?? 'registry-proxy';
  if (typeof service !== 'string' || !/^[\x21-\x7e]+$/.test(service) || service.includes('"')) {
    throw new RegistryProxyOptionsError('auth.service', 'must be a printable string without spaces or quotes');
  }
  return { users, tokenSecret, tokenTtl, service };
}
