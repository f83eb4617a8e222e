import type { BucketSpec, BucketStore } from '../options/types.ts';

/**
 * The built-in `BucketStore` (the interface is in options/types.ts): token buckets in memory,
 * per process. Each instance of a fleet limits on its own, so a client spread over N instances
 * gets up to N times the rate; a shared store implements the same three calls.
 */

interface Bucket {
  tokens: number;
  at: number;
}

/** Buckets that refilled to their burst are forgotten: they are the same as a new bucket. */
const SWEEP_EVERY = 10_000;

export class MemoryBucketStore implements BucketStore {
  readonly #buckets = new Map<string, { bucket: Bucket; spec: BucketSpec }>();
  #operations = 0;

  #refill(key: string, spec: BucketSpec, now: number): Bucket {
    if (++this.#operations % SWEEP_EVERY === 0) this.#sweep(now);
    let entry = this.#buckets.get(key);
    if (!entry) {
      entry = { bucket: { tokens: spec.burst, at: now }, spec };
      this.#buckets.set(key, entry);
      return entry.bucket;
    }
    const { bucket } = entry;
    if (now > bucket.at) {
      bucket.tokens = Math.min(spec.burst, bucket.tokens + ((now - bucket.at) / 1000) * spec.perSecond);
      bucket.at = now;
    }
    return bucket;
  }

  tryTake(key: string, cost: number, spec: BucketSpec, now: number): number {
    const bucket = this.#refill(key, spec, now);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return ((cost - bucket.tokens) / spec.perSecond) * 1000;
  }

  take(key: string, cost: number, spec: BucketSpec, now: number): number {
    const bucket = this.#refill(key, spec, now);
    bucket.tokens -= cost;
    return bucket.tokens >= 0 ? 0 : (-bucket.tokens / spec.perSecond) * 1000;
  }

  debt(key: string, spec: BucketSpec, now: number): number {
    const bucket = this.#refill(key, spec, now);
    return bucket.tokens >= 0 ? 0 : (-bucket.tokens / spec.perSecond) * 1000;
  }

  /** How many buckets are held (for tests of the sweep). */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    for (const [key, { bucket, spec }] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * spec.perSecond >= spec.burst) this.#buckets.delete(key);
    }
  }
}
