import { RegistryProxyOptionsError } from '../options/error.ts';
import type { UpstreamCredentials } from '../options/types.ts';

/** Checks the shape of credentials, whether configured statically or returned by a provider. */
export function validateCredentials(value: unknown, option = 'credentials'): UpstreamCredentials {
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (typeof record.authorization === 'string') {
      if (!/^(basic|bearer) \S+$/i.test(record.authorization)) {
        throw new RegistryProxyOptionsError(option, 'authorization must look like "Basic <base64>" or "Bearer <token>"');
      }
      return value as UpstreamCredentials;
    }
    if (typeof record.username === 'string' && typeof record.password === 'string') {
      if (record.username === '' || record.username.includes(':')) {
        throw new RegistryProxyOptionsError(option, 'username must be non-empty and must not contain ":"');
      }
      return value as UpstreamCredentials;
    }
  }
  throw new RegistryProxyOptionsError(
    option,
    'must be { username, password }, { authorization }, or a function returning one of them',
  );
}

function basicAuthorization(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** The `Authorization` value that presents the proxy's credentials (Basic, or a literal header). */
export function credentialsAuthorization(credentials: UpstreamCredentials): string {
  return 'authorization' in credentials
    ? credentials.authorization
    : basicAuthorization(credentials.username, credentials.password);
}

