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

  /**
   * Brings the index in line with a fresh store listing: content another process added joins
   * (ordered by its last use), content another process evicted leaves. Known order is kept.
   */
  sync(listing: ContentEntry[]): void {
    const present = new Set(listing.map((entry) => entry.digest));
    for (const digest of [...this.entries.keys()]) if (!present.has(digest)) this.remove(digest);
    const newcomers = listing.filter((entry) => !this.entries.has(entry.digest)).sort((a, b) => a.lastUsed - b.lastUsed);
    if (newcomers.length === 0) return;
    // Newcomers are placed by their last use among the entries already known.
    const known = [...this.entries].map(([digest, entry]) => ({ digest, size: entry.size, lastUsed: entry.touchedAt }));
    this.entries.clear();
    this.total = 0;
    this.load([...known, ...newcomers]);
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
