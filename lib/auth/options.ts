import type { ClientAuthOptions, ResolvedClientAuth, ResolvedUser } from '../options/types.ts';
import { globToRegExp } from './glob.ts';
import { RegistryProxyOptionsError } from '../options/error.ts';
import { passwordHashProblem } from './password-hash.ts';

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
    const problem = passwordHashProblem(user?.passwordHash);
    if (problem) throw new RegistryProxyOptionsError(`${at}.passwordHash`, problem);
    users.set(name, { passwordHash: user.passwordHash as string, pull: globList(user.pull, `${at}.pull`, ['**']), push: globList(user.push, `${at}.push`, []) });
  }
  // Without a configured secret, the authenticator draws a random one on first use: the Workers
  // runtime refuses random values in global scope, where a proxy is often created.
  let tokenSecret: Uint8Array<ArrayBuffer> | undefined;
  if (options.tokenSecret !== undefined) {
    if (typeof options.tokenSecret !== 'string' || options.tokenSecret.length < 32) {
      throw new RegistryProxyOptionsError('auth.tokenSecret', 'must be a string of at least 32 characters');
    }
    tokenSecret = new TextEncoder().encode(options.tokenSecret);
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
