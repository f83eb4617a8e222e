import type { CacheStore, ContentWriter } from '../options/types.ts';
import { DigestCheck } from './digest.ts';

/** How much a follower reads back from the store per step. */
const READ_STEP = 256 * 1024;
/**
 * For stores that cannot read back an upload in progress (S3 multipart), the last bytes of the
 * fill stay in memory so readers keeping pace still stream; one further behind waits for the commit.
 */
const WINDOW_BYTES = 32 * 1024 * 1024;

/** A client's hold on a fill: while any is held, the fill goes on. Released once, whatever happens. */
export interface Lease {
  release(): void;
}

/**
 * One upstream download of one digest into the store, read by every client that wants it
 * meanwhile. The fill writes at the upstream's pace; each reader follows at its own, reading
 * back what was written (the store's temp file), so nothing waits for the slowest client and
 * nothing is held in memory for it — which `tee()` would do. Readers see the end of the
 * content only once it has been verified and committed: a cut or a wrong digest errors every
 * reader instead of ending it short. When the last reader goes and nobody asked to keep the
 * fill (`detach`), it stops and nothing is published.
 */
export class Fill {
  readonly digest: string;
  /** Route-and-repository owners to link when the content is committed. */
  readonly owners = new Set<string>();
  /** Aborts the upstream request when the fill is abandoned. */
  readonly signal: AbortSignal;
  /** Resolves true once committed, false once failed. */
  readonly done: Promise<boolean>;
  size: number | undefined;
  contentType: string | undefined;
  written = 0;

  private state: 'opening' | 'filling' | 'committed' | 'failed' = 'opening';
  private failure: unknown;
  private writer: ContentWriter | undefined;
  private leases = 0;
  private committing = false;
  private detached = false;
  private waiters: (() => void)[] = [];
  private readonly controller = new AbortController();
  private upstream: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private window: { offset: number; bytes: Uint8Array }[] = [];
  private windowBytes = 0;
  private settle!: (committed: boolean) => void;

  private readonly store: CacheStore;

  constructor(digest: string, store: CacheStore) {
    this.digest = digest;
    this.store = store;
    this.signal = this.controller.signal;
    this.done = new Promise((resolve) => (this.settle = resolve));
  }

  get failed(): boolean {
    return this.state === 'failed';
  }

  /** Takes a hold on the fill; a reader created with it releases it when it ends. */
  lease(): Lease {
    this.leases++;
    let held = true;
    return {
      release: () => {
        if (!held) return;
        held = false;
        if (--this.leases === 0 && !this.detached && (this.state === 'opening' || this.state === 'filling')) {
          this.fail(new Error('every client reading the fill went away'));
        }
      },
    };
  }

  /** Keeps the fill going with no reader (a Range request started it). */
  detach(): void {
    this.detached = true;
  }

  /** Streams the upstream body into the store, verifying size and digest before the commit. */
  async run(
    body: ReadableStream<Uint8Array>,
    writer: ContentWriter,
    size: number | undefined,
    contentType: string | undefined,
    beforeCommit: () => Promise<void>,
  ): Promise<void> {
    if (this.state !== 'opening') {
      body.cancel().catch(() => {});
      await writer.abort().catch(() => {});
      return;
    }
    this.state = 'filling';
    this.writer = writer;
    this.size = size;
    this.contentType = contentType;
    const check = new DigestCheck();
    const reader = (this.upstream = body.getReader());
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (this.state !== 'filling') throw this.failure;
        if (done) break;
        if (size !== undefined && this.written + value.byteLength > size) throw new Error(`upstream sent more than its Content-Length ${size}`);
        check.update(value);
        await writer.write(value);
        if (!writer.readWritten) this.keepInWindow(value);
        this.written += value.byteLength;
        this.wake();
      }
      if (size !== undefined && this.written !== size) throw new Error(`upstream body ended after ${this.written} of ${size} bytes`);
      if (!check.matches(this.digest)) throw new Error(`upstream content does not match ${this.digest}`);
      this.committing = true;
      // Links first, so the content is never visible without them (a hit right after would miss).
      await beforeCommit();
      await writer.commit();
      if (this.state !== 'filling') return; // abandoned during the commit: the content stays, but readers were told
      this.size = this.written;
      this.state = 'committed';
      this.window = [];
      this.settle(true);
      this.wake();
    } catch (error) {
      reader.cancel(error).catch(() => {});
      await writer.abort().catch(() => {});
      this.fail(error);
    }
  }

  fail(error: unknown): void {
    if (this.state === 'committed' || this.state === 'failed') return;
    this.state = 'failed';
    this.failure = error;
    this.window = [];
    this.controller.abort(error);
    this.upstream?.cancel(error).catch(() => {});
    this.settle(false);
    this.wake();
  }

  /**
   * The content from `start`, as it arrives. The stream ends only after the commit; a fill
   * that fails errors it.
   */
  read(lease: Lease, start = 0): ReadableStream<Uint8Array> {
    let offset = start;
    let stored: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const finish = () => {
      lease.release();
      stored?.cancel().catch(() => {});
    };
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          try {
            for (;;) {
              if (this.state === 'failed') throw this.failure;
              if (this.state === 'committed') {
                // From here on the content is in the store: read it there, like any hit.
                if (offset >= this.written) {
                  finish();
                  controller.close();
                  return;
                }
                stored ??= (await this.store.get(this.digest, { start: offset, end: this.written }))?.body.getReader();
                if (!stored) throw new Error(`${this.digest} vanished from the store while being read`);
                const { done, value } = await stored.read();
                if (done) throw new Error(`${this.digest} ended early in the store`);
                offset += value.byteLength;
                controller.enqueue(value);
                return;
              }
              const readWritten = this.writer?.readWritten;
              if (offset < this.written && readWritten) {
                try {
                  const bytes = await readWritten.call(this.writer, offset, Math.min(this.written, offset + READ_STEP));
                  offset += bytes.byteLength;
                  controller.enqueue(bytes);
                  return;
                } catch (error) {
                  // The writer closed under us because the fill is committing or ended: look again once it has.
                  if (this.state === 'filling' && !this.committing) throw error;
                  if (this.state === 'filling') await new Promise<void>((resolve) => this.waiters.push(resolve));
                  continue;
                }
              }
              const kept = readWritten ? undefined : this.fromWindow(offset);
              if (kept) {
                offset += kept.byteLength;
                controller.enqueue(kept);
                return;
              }
              await new Promise<void>((resolve) => this.waiters.push(resolve));
            }
          } catch (error) {
            finish();
            controller.error(error);
          }
        },
        cancel: finish,
      },
      { highWaterMark: 0 },
    );
  }

  private keepInWindow(chunk: Uint8Array): void {
    this.window.push({ offset: this.written, bytes: chunk });
    this.windowBytes += chunk.byteLength;
    while (this.windowBytes - this.window[0]!.bytes.byteLength >= WINDOW_BYTES) this.windowBytes -= this.window.shift()!.bytes.byteLength;
  }

  /** The written bytes from `offset` still in the window, or undefined. */
  private fromWindow(offset: number): Uint8Array | undefined {
    for (const { offset: start, bytes } of this.window) {
      if (offset >= start && offset < start + bytes.byteLength) return bytes.subarray(offset - start);
    }
    return undefined;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
