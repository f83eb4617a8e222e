import { sha256Hex } from './digest.ts';

/** Proofs are kept for this long: about the life of a registry token (Docker Hub's is 300 s). */
const PROOF_SECONDS = 300;
const MAX_PROOFS = 10_000;

/**
 * Remembers which credentials the upstream accepted for which repository, and when. On a route
 * where clients bring their own upstream credentials, cached content is served only to a client
 * whose credentials the upstream accepted for that repository recently; otherwise a private
 * image, once cached, would be served to anyone. Keys hold a hash, never the credential.
 */
export class AccessProofs {
  private readonly proofs = new Map<string, number>();

  static keyOf(owner: string, authorization: string | null): string {
    return `${owner}\n${sha256Hex(authorization ?? '')}`;
  }

  record(key: string, now = Date.now()): void {
    this.proofs.delete(key);
    this.proofs.set(key, now);
    if (this.proofs.size > MAX_PROOFS) this.proofs.delete(this.proofs.keys().next().value!);
  }

  /** Whether the upstream accepted these credentials within `seconds` (default: "recently"). */
  holds(key: string, seconds = PROOF_SECONDS, now = Date.now()): boolean {
    const at = this.proofs.get(key);
    return at !== undefined && now - at <= seconds * 1000;
  }
}
