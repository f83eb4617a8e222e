import type { ContentEntry } from '../options/types.ts';

/** A read renews an entry in the store at most this often: a touch is a write. */
const TOUCH_INTERVAL_MS = 60_000;

interface Entry {
  size: number;
  touchedAt: number;
}

/**
 * The stored content in least-recently-used order, with its total size: a Map iterates in
 * insertion order, so renewing an entry is a delete and a set.
 */
export class LruIndex {
  private readonly entries = new Map<string, Entry>();
  total = 0;

  /** Fills the index from a store listing, oldest use first. */
  load(listing: ContentEntry[]): void {
    for (const entry of listing.sort((a, b) => a.lastUsed - b.lastUsed)) this.add(entry.digest, entry.size, entry.lastUsed);
  }

  add(digest: string, size: number, touchedAt = Date.now()): void {
    this.remove(digest);
    this.entries.set(digest, { size, touchedAt });
    this.total += size;
  }

  remove(digest: string): void {
    const entry = this.entries.get(digest);
    if (!entry) return;
    this.entries.delete(digest);
    this.total -= entry.size;
  }

  /** Renews `digest`; true when the store should be told too (not told within the last minute). */
  renew(digest: string, size: number, now = Date.now()): boolean {
    const entry = this.entries.get(digest);
    if (!entry) {
      // Written by another process sharing the store: it joins this process's index now.
      this.add(digest, size, now);
      return true;
    }
    this.entries.delete(digest);
    this.entries.set(digest, entry);
    if (now - entry.touchedAt < TOUCH_INTERVAL_MS) return false;
    entry.touchedAt = now;
    return true;
  }

  /** Digests from least to most recently used. */
  oldest(): IterableIterator<string> {
    return this.entries.keys();
  }
}
