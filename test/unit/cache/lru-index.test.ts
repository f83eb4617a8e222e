/** The eviction index: least recently used first, renewals, and syncing with what other processes did to a shared store. */
import { describe, expect, it } from 'vitest';
import { LruIndex } from '../../../lib/cache/lru-index.ts';

describe('LruIndex', () => {
  it('orders by last use, renews on read, and keeps the total', () => {
    const index = new LruIndex();
    index.load([
      { digest: 'b', size: 20, lastUsed: 2 },
      { digest: 'a', size: 10, lastUsed: 1 },
    ]);
    index.add('c', 30);
    expect([...index.oldest()]).toEqual(['a', 'b', 'c']);
    index.renew('a', 10);
    expect([...index.oldest()]).toEqual(['b', 'c', 'a']);
    expect(index.total).toBe(60);
    index.remove('b');
    expect(index.total).toBe(40);
  });

  it('a renewal reaches the store at most once a minute per entry', () => {
    const index = new LruIndex();
    index.add('a', 1, 0);
    expect(index.renew('a', 1, 30_000)).toBe(false);
    expect(index.renew('a', 1, 61_000)).toBe(true);
    expect(index.renew('a', 1, 62_000)).toBe(false);
    expect(index.renew('unknown', 5, 62_000)).toBe(true);
    expect(index.total).toBe(6);
  });

  it('sync adds what other processes filled and drops what they evicted', () => {
    const index = new LruIndex();
    index.add('mine-old', 10, 100);
    index.add('evicted-elsewhere', 10, 200);
    index.add('mine-new', 10, 300);
    index.sync([
      { digest: 'mine-old', size: 10, lastUsed: 100 },
      { digest: 'mine-new', size: 10, lastUsed: 300 },
      { digest: 'theirs', size: 50, lastUsed: 150 },
    ]);
    expect([...index.oldest()]).toEqual(['mine-old', 'theirs', 'mine-new']);
    expect(index.total).toBe(70);
  });
});
