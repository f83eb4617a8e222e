/**
 * withBodyChecks on a byte-stream body marked GATHER_READS (the Deno adapter's): read with a BYOB reader
 * and gathered into larger chunks, it must still end a whole body cleanly, error one cut short of
 * its length or broken, and cut one that stalls — and report each failure once.
 */
import { describe, expect, it } from 'vitest';
import { withBodyChecks } from '../../../lib/upstream/body-checks.ts';
import { GATHER_READS } from '../../../lib/upstream/guarded-body.ts';

const PIECE = 16 * 1024;

/** A byte stream handing out `pieces` 16 KiB pieces, then ending as `end` says; marked as the Deno adapter's fetch marks its bodies. */
function byteBody(pieces: number, end: 'close' | 'error' | 'stall'): ReadableStream<Uint8Array> {
  let sent = 0;
  const body = new ReadableStream({
    type: 'bytes',
    pull(controller) {
      if (sent < pieces) {
        sent++;
        controller.enqueue(new Uint8Array(PIECE).fill(sent % 256));
      } else if (end === 'close') {
        // A pending BYOB read resolves only once answered, as Deno's fetch body does it.
        controller.close();
        controller.byobRequest?.respond(0);
      }
      else if (end === 'error') controller.error(new Error('connection reset'));
      else return new Promise(() => {});
    },
  });
  return Object.assign(body, { [GATHER_READS]: true });
}

async function drain(body: ReadableStream<Uint8Array>): Promise<{ bytes: number; chunks: number; first: number[] }> {
  let bytes = 0;
  let chunks = 0;
  const first: number[] = [];
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const chunk = read.value;
    bytes += chunk.byteLength;
    chunks++;
    if (first.length < 3) first.push(chunk[0]!, chunk[chunk.byteLength - 1]!);
  }
  return { bytes, chunks, first };
}

describe('withBodyChecks on a byte stream', () => {
  it('relays a whole body, gathering pieces already there into fewer chunks', async () => {
    const failures: Error[] = [];
    const result = await drain(withBodyChecks(byteBody(64, 'close'), 1000, (error) => failures.push(error), 64 * PIECE));
    expect(result.bytes).toBe(64 * PIECE);
    expect(result.chunks).toBeLessThan(64);
    // (How many pieces a chunk gathers depends on timing: a read that waited sends at once.)
    expect(result.first[0]).toBe(1);
    expect(failures).toEqual([]);
  });

  it('errors a body that ends short of its Content-Length, and reports it once', async () => {
    const failures: Error[] = [];
    await expect(drain(withBodyChecks(byteBody(10, 'close'), 1000, (error) => failures.push(error), 64 * PIECE))).rejects.toThrow(/ended after 163840 of 1048576 bytes/);
    expect(failures).toHaveLength(1);
  });

  it('errors a body whose upstream breaks, and reports it once', async () => {
    const failures: Error[] = [];
    await expect(drain(withBodyChecks(byteBody(10, 'error'), 1000, (error) => failures.push(error), 64 * PIECE))).rejects.toThrow(/upstream body failed: connection reset/);
    expect(failures).toHaveLength(1);
  });

  it('cuts a body that stalls after the idle timeout, and reports it once', async () => {
    const failures: Error[] = [];
    const started = Date.now();
    await expect(drain(withBodyChecks(byteBody(3, 'stall'), 200, (error) => failures.push(error), 64 * PIECE))).rejects.toThrow(/stalled for 200 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(failures).toHaveLength(1);
  });
});
