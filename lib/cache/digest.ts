import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** The cache keeps sha256 content only: the algorithm every registry and client uses. */
export function isCacheableDigest(digest: string): boolean {
  return SHA256_DIGEST.test(digest);
}

/**
 * Hashes content as it streams past. crypto.subtle only digests a whole buffer, which would
 * hold a multi-gigabyte layer in memory; @noble/hashes updates incrementally in every runtime.
 */
export class DigestCheck {
  private readonly hash = sha256.create();
  bytes = 0;

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  /** Whether what was hashed is exactly the content `digest` names. */
  matches(digest: string): boolean {
    return `sha256:${bytesToHex(this.hash.digest())}` === digest;
  }
}

/** Hex sha256 of a string: keys that must not carry what they are made of (credentials, long names). */
export function sha256Hex(text: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(text)));
}
