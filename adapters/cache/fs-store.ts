import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheStore, ContentEntry, ContentInfo, ContentWriter, StoredContent } from '../../lib/options/types.ts';

/** Hits read 1 MiB per step: a quarter of that costs Node and Bun a third of their throughput (bench/cache.ts). */
const READ_CHUNK = 1024 * 1024;
/** Temp files older than this at start belong to a process that died mid-fill. */
const STALE_TEMP_MS = 60 * 60 * 1000;
const SHA256 = /^sha256:([a-f0-9]{64})$/;

/**
 * The cache on a local directory, with node:fs/promises (which Node, Deno and Bun all provide).
 * Every write goes to a unique temp file in the same directory tree and is renamed into place,
 * so a reader — in this process or another sharing the directory — sees whole content or none.
 *
 *     <root>/blobs/sha256/ab/<hex>        content
 *     <root>/blobs/sha256/ab/<hex>.type   its Content-Type (manifests)
 *     <root>/links/sha256/<hex>/<hash>    one file per (route, repository) that may see it
 *     <root>/records/ab/<hash>            tag → digest, tag lists
 *     <root>/tmp/                         writes in progress
 */
export class FsCacheStore implements CacheStore {
  readonly root: string;

  constructor(root: string) {
    if (typeof root !== 'string' || root === '') throw new TypeError('registry-proxy: a cache directory path is required');
    this.root = root;
  }

  async get(digest: string, range?: { start: number; end: number }): Promise<StoredContent | undefined> {
    const path = this.contentPath(digest);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      const { size } = await handle.stat();
      const contentType = await this.readType(digest);
      const start = range?.start ?? 0;
      const end = Math.min(range?.end ?? size, size);
      return { size, contentType, body: fileStream(handle, start, end) };
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  async stat(digest: string): Promise<ContentInfo | undefined> {
    try {
      const { size } = await stat(this.contentPath(digest));
      return { size, contentType: await this.readType(digest) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async put(digest: string, info: { contentType?: string }): Promise<ContentWriter> {
    const path = this.contentPath(digest);
    const temp = await this.tempPath();
    // w+: the fill's readers read back what was written through the same handle.
    const handle = await open(temp, 'w+');
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await handle.close();
    };
    return {
      write: async (chunk) => {
        let offset = 0;
        while (offset < chunk.byteLength) offset += (await handle.write(chunk, offset, chunk.byteLength - offset)).bytesWritten;
      },
      readWritten: async (start, end) => {
        if (closed) throw new Error('the fill has ended');
        const buffer = new Uint8Array(end - start);
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, start);
        return buffer.subarray(0, bytesRead);
      },
      commit: async () => {
        // Durable before visible: a crash must not leave a published file with missing bytes.
        await handle.datasync();
        await close();
        await mkdir(join(this.root, 'blobs', 'sha256', hexOf(digest).slice(0, 2)), { recursive: true });
        if (info.contentType) await this.writeAtomically(`${path}.type`, info.contentType);
        await rename(temp, path);
      },
      abort: async () => {
        await close().catch(() => {});
        await rm(temp, { force: true });
      },
    };
  }

  async delete(digest: string): Promise<void> {
    // Content first: without it, a leftover link or type file is never served.
    await rm(this.contentPath(digest), { force: true });
    await rm(`${this.contentPath(digest)}.type`, { force: true });
    await rm(this.linksDir(digest), { recursive: true, force: true });
  }

  async *list(): AsyncIterable<ContentEntry> {
    await this.removeStaleTemps();
    const base = join(this.root, 'blobs', 'sha256');
    for (const prefix of await readdirOrEmpty(base)) {
      for (const name of await readdirOrEmpty(join(base, prefix))) {
        if (!/^[a-f0-9]{64}$/.test(name)) continue;
        try {
          const info = await stat(join(base, prefix, name));
          yield { digest: `sha256:${name}`, size: info.size, lastUsed: info.mtimeMs };
        } catch (error) {
          if (!isMissing(error)) throw error; // deleted by another process meanwhile
        }
      }
    }
  }

  async touch(digest: string): Promise<void> {
    const now = new Date();
    try {
      await utimes(this.contentPath(digest), now, now);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  async link(digest: string, owner: string): Promise<void> {
    const dir = this.linksDir(digest);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, hashOf(owner)), owner);
  }

  async unlink(digest: string, owner: string): Promise<void> {
    await rm(join(this.linksDir(digest), hashOf(owner)), { force: true });
  }

  async isLinked(digest: string, owner: string): Promise<boolean> {
    try {
      await stat(join(this.linksDir(digest), hashOf(owner)));
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async getRecord(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.recordPath(key), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async putRecord(key: string, value: string): Promise<void> {
    const path = this.recordPath(key);
    await mkdir(join(path, '..'), { recursive: true });
    await this.writeAtomically(path, value);
  }

  async deleteRecord(key: string): Promise<void> {
    await rm(this.recordPath(key), { force: true });
  }

  private contentPath(digest: string): string {
    const hex = hexOf(digest);
    return join(this.root, 'blobs', 'sha256', hex.slice(0, 2), hex);
  }

  private linksDir(digest: string): string {
    return join(this.root, 'links', 'sha256', hexOf(digest));
  }

  private recordPath(key: string): string {
    const hash = hashOf(key);
    return join(this.root, 'records', hash.slice(0, 2), hash);
  }

  private async readType(digest: string): Promise<string | undefined> {
    try {
      return await readFile(`${this.contentPath(digest)}.type`, 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  private async tempPath(): Promise<string> {
    const dir = join(this.root, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, `${randomUUID()}.part`);
  }

  private async writeAtomically(path: string, value: string): Promise<void> {
    const temp = await this.tempPath();
    try {
      await writeFile(temp, value);
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  private async removeStaleTemps(): Promise<void> {
    const dir = join(this.root, 'tmp');
    const cutoff = Date.now() - STALE_TEMP_MS;
    for (const name of await readdirOrEmpty(dir)) {
      try {
        if ((await stat(join(dir, name))).mtimeMs < cutoff) await rm(join(dir, name), { force: true });
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
    }
  }
}

function hexOf(digest: string): string {
  const match = SHA256.exec(digest);
  if (!match) throw new TypeError(`registry-proxy: the cache stores sha256 digests only, got ${JSON.stringify(digest.slice(0, 80))}`);
  return match[1]!;
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function isMissing(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 'ENOENT';
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** `[start, end)` of an open file as a web stream, read on demand; closes the file when done. */
function fileStream(handle: FileHandle, start: number, end: number): ReadableStream<Uint8Array> {
  let position = start;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    handle.close().catch(() => {});
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (position >= end) {
            close();
            controller.close();
            return;
          }
          const buffer = new Uint8Array(Math.min(READ_CHUNK, end - position));
          const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, position);
          if (bytesRead === 0) throw new Error('cached content ended early');
          position += bytesRead;
          controller.enqueue(buffer.subarray(0, bytesRead));
        } catch (error) {
          close();
          controller.error(error);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}
