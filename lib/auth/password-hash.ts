/**
 * Password hashes for the proxy's own users: PBKDF2-SHA256 through `crypto.subtle`, so every
 * runtime verifies them natively. Format: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
 */
const PREFIX = 'pbkdf2-sha256';
const DEFAULT_ITERATIONS = 210_000; // OWASP's 2023 figure for PBKDF2-HMAC-SHA256
const HASH_BYTES = 32;

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, HASH_BYTES * 8));
}

export async function hashPassword(password: string, iterations = DEFAULT_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return `${PREFIX}$${iterations}$${toBase64(salt)}$${toBase64(await derive(password, salt, iterations))}`;
}

export function isPasswordHash(value: unknown): value is string {
  return typeof value === 'string' && /^pbkdf2-sha256\$\d{4,7}\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/.test(value);
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (!isPasswordHash(hash)) return false;
  const [, iterations, salt, expected] = hash.split('$') as [string, string, string, string];
  const actual = await derive(password, fromBase64(salt), Number(iterations));
  const wanted = fromBase64(expected);
  // Constant-time comparison: no early exit on the first differing byte.
  let difference = actual.length ^ wanted.length;
  for (let index = 0; index < actual.length; index++) difference |= actual[index]! ^ (wanted[index] ?? 0);
  return difference === 0;
}
