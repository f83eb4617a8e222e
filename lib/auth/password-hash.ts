/**
 * Password hashes for the proxy's own users: PBKDF2-SHA256 through `crypto.subtle`, so every
 * runtime verifies them natively. Format: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
 */
const PREFIX = 'pbkdf2-sha256';
export const DEFAULT_ITERATIONS = 210_000; // OWASP's 2023 figure for PBKDF2-HMAC-SHA256
export const MIN_ITERATIONS = 1_000;
export const MAX_ITERATIONS = 10_000_000;
/**
 * Cloudflare Workers refuse PBKDF2 above 100,000 iterations (workerd#1346: a login must fit the
 * CPU limit). Local workerd derives more, so a hash that works in development would fail every
 * login once deployed: on that runtime such a hash is refused at creation instead.
 */
export const WORKERS_MAX_ITERATIONS = 100_000;
const HASH_BYTES = 32;
const MIN_SALT_BYTES = 8;

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/** The Workers runtime names itself in `navigator.userAgent` (a web standard global, no import). */
function onWorkersRuntime(): boolean {
  return (globalThis as { navigator?: { userAgent?: unknown } }).navigator?.userAgent === 'Cloudflare-Workers';
}

/** The most PBKDF2 iterations this runtime derives. */
export function maxIterations(): number {
  return onWorkersRuntime() ? WORKERS_MAX_ITERATIONS : MAX_ITERATIONS;
}

/** Why `iterations` cannot be used for a hash here, or `undefined` when it can. */
export function iterationsProblem(iterations: number): string | undefined {
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
    return `iterations must be a whole number from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}`;
  }
  if (iterations > maxIterations()) {
    return `uses ${iterations} PBKDF2 iterations; Cloudflare Workers derive at most ${WORKERS_MAX_ITERATIONS}: make a new hash with \`registry-proxy hash-password --iterations ${WORKERS_MAX_ITERATIONS}\``;
  }
  return undefined;
}

interface ParsedHash {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: Uint8Array<ArrayBuffer>;
}

function parse(value: unknown): ParsedHash | string {
  const parts = typeof value === 'string' ? value.split('$') : [];
  if (parts.length !== 4 || parts[0] !== PREFIX || !/^[1-9]\d*$/.test(parts[1]!)) {
    return 'must be a hash from `registry-proxy hash-password` (pbkdf2-sha256$<iterations>$<salt>$<hash>)';
  }
  const iterations = Number(parts[1]);
  const salt = fromBase64(parts[2]!);
  const hash = fromBase64(parts[3]!);
  if (!salt || salt.length < MIN_SALT_BYTES) return `has a salt that is not base64 of at least ${MIN_SALT_BYTES} bytes`;
  if (!hash || hash.length !== HASH_BYTES) return `has a hash that is not base64 of ${HASH_BYTES} bytes`;
  const problem = iterationsProblem(iterations);
  return problem ?? { iterations, salt, hash };
}

/**
 * Why a configured hash cannot be used on this runtime (malformed, iterations out of bounds or
 * above what the runtime derives), or `undefined` when it can: checked at creation, so a bad
 * hash stops the start rather than failing every login.
 */
export function passwordHashProblem(value: unknown): string | undefined {
  const parsed = parse(value);
  return typeof parsed === 'string' ? parsed : undefined;
}

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, HASH_BYTES * 8));
}

export async function hashPassword(password: string, iterations = DEFAULT_ITERATIONS): Promise<string> {
  const problem = iterationsProblem(iterations);
  if (problem) throw new RangeError(`hashPassword: ${problem}`);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  return `${PREFIX}$${iterations}$${toBase64(salt)}$${toBase64(await derive(password, salt, iterations))}`;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parse(hash);
  if (typeof parsed === 'string') return false;
  const actual = await derive(password, parsed.salt, parsed.iterations);
  const wanted = parsed.hash;
  // Constant-time comparison: no early exit on the first differing byte.
  let difference = actual.length ^ wanted.length;
  for (let index = 0; index < actual.length; index++) difference |= actual[index]! ^ (wanted[index] ?? 0);
  return difference === 0;
}
