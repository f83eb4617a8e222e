/**
 * The CacheStore contract, one suite run against every store: the filesystem store and the S3
 * store against a real S3 server (s3rver, started here). Then what is particular to each: the
 * filesystem store's index rebuilt from disk and its temp files; the S3 store's equal multipart
 * parts, presigned URLs, and its signing checked against AWS's published SigV4 examples.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { describe, expect, it } from 'vitest';
import { FsCacheStore } from '../../../adapters/cache/fs-store.ts';
import { S3CacheStore } from '../../../lib/cache/s3-store.ts';
import type { CacheStore, ContentWriter } from '../../../lib/options/types.ts';
import { tempDirectory, useS3rver } from '../helpers/cache.ts';

const MiB = 1024 * 1024;

function content(size: number): { bytes: Uint8Array; digest: string } {
  const bytes = new Uint8Array(randomBytes(size));
  return { bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function writeInChunks(writer: ContentWriter, bytes: Uint8Array, chunk: number): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength; offset += chunk) await writer.write(bytes.subarray(offset, offset + chunk));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

const s3 = useS3rver();
const s3Requests: { method: string; url: string; bytes: number }[] = [];


/** An S3 store on the test server, under its own prefix, recording what it sends. */
function s3Store(prefix: string): S3CacheStore {
  return new S3CacheStore({
    bucket: 'cache',
    prefix,
    endpoint: s3.endpoint,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    partSize: 5 * MiB,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const body = request.body ? new Uint8Array(await request.clone().arrayBuffer()) : undefined;
      s3Requests.push({ method: request.method, url: request.url, bytes: body?.byteLength ?? 0 });
      return fetch(request);
    },
  });
}

const stores: [string, () => Promise<CacheStore>][] = [
  ['filesystem', async () => new FsCacheStore(await tempDirectory())],
  ['s3 (s3rver)', async () => s3Store(`contract-${randomBytes(4).toString('hex')}/`)],
];

describe.each(stores)('CacheStore contract: %s', (_name, create) => {
  it('unknown content and records are undefined, never an error', async () => {
    const store = await create();
    const { digest } = content(10);
    expect(await store.get(digest)).toBeUndefined();
    expect(await store.stat(digest)).toBeUndefined();
    expect(await store.isLinked(digest, 'route/repo')).toBe(false);
    expect(await store.getRecord('nothing')).toBeUndefined();
    await store.delete(digest);
  });

  it('content is invisible until committed, then served whole and by range with its type', async () => {
    const store = await create();
    const { bytes, digest } = content(300_000);
    const writer = await store.put(digest, { contentType: 'application/vnd.oci.image.manifest.v1+json' });
    await writeInChunks(writer, bytes, 65_536);
    expect(await store.stat(digest)).toBeUndefined();
    await writer.commit();
    expect(await store.stat(digest)).toEqual({ size: 300_000, contentType: 'application/vnd.oci.image.manifest.v1+json' });
    const whole = (await store.get(digest))!;
    expect(whole.size).toBe(300_000);
    expect(sameBytes(await readAll(whole.body), bytes)).toBe(true);
    const part = (await store.get(digest, { start: 1000, end: 1010 }))!;
    expect(part.size).toBe(300_000);
    expect(sameBytes(await readAll(part.body), bytes.subarray(1000, 1010))).toBe(true);
  });

  it('an aborted write leaves nothing', async () => {
    const store = await create();
    const { bytes, digest } = content(6 * MiB);
    const writer = await store.put(digest, {});
    await writeInChunks(writer, bytes, MiB);
    await writer.abort();
    expect(await store.stat(digest)).toBeUndefined();
    const entries = [];
    for await (const entry of store.list()) entries.push(entry);
    expect(entries).toEqual([]);
  });

  it('readWritten, when offered, returns what was written so far', async () => {
    const store = await create();
    const { bytes, digest } = content(100_000);
    const writer = await store.put(digest, {});
    if (!writer.readWritten) return writer.abort(); // the cache keeps a memory window instead
    await writer.write(bytes.subarray(0, 50_000));
    expect(sameBytes(await writer.readWritten(10, 20), bytes.subarray(10, 20))).toBe(true);
    await writer.abort();
  });

  it('two writers of the same digest both commit and the content stays whole', async () => {
    const store = await create();
    const { bytes, digest } = content(200_000);
    const [a, b] = await Promise.all([store.put(digest, {}), store.put(digest, {})]);
    await Promise.all([writeInChunks(a, bytes, 7000), writeInChunks(b, bytes, 9000)]);
    await Promise.all([a.commit(), b.commit()]);
    expect(sameBytes(await readAll((await store.get(digest))!.body), bytes)).toBe(true);
  });

  it('links belong to (route, repository) and go with their content; list reports size and last use', async () => {
    const store = await create();
    const { bytes, digest } = content(1000);
    const writer = await store.put(digest, {});
    await writer.write(bytes);
    await writer.commit();
    await store.link(digest, 'docker.io/library/alpine');
    expect(await store.isLinked(digest, 'docker.io/library/alpine')).toBe(true);
    expect(await store.isLinked(digest, 'docker.io/library/busybox')).toBe(false);
    expect(await store.isLinked(digest, 'ghcr.io/library/alpine')).toBe(false);
    await store.unlink(digest, 'docker.io/library/alpine');
    expect(await store.isLinked(digest, 'docker.io/library/alpine')).toBe(false);
    await store.link(digest, 'docker.io/library/alpine');

    const entries = [];
    for await (const entry of store.list()) entries.push(entry);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ digest, size: 1000 });
    expect(Math.abs(entries[0]!.lastUsed - Date.now())).toBeLessThan(60_000);
    await store.touch(digest);

    await store.delete(digest);
    expect(await store.stat(digest)).toBeUndefined();
    expect(await store.isLinked(digest, 'docker.io/library/alpine')).toBe(false);
  });

  it('records are stored, replaced and deleted by key', async () => {
    const store = await create();
    await store.putRecord('tag\nroute\nrepo\nlatest', '{"digest":"a"}');
    await store.putRecord('tag\nroute\nrepo\nlatest', '{"digest":"b"}');
    expect(await store.getRecord('tag\nroute\nrepo\nlatest')).toBe('{"digest":"b"}');
    await store.deleteRecord('tag\nroute\nrepo\nlatest');
    expect(await store.getRecord('tag\nroute\nrepo\nlatest')).toBeUndefined();
  });

  it('refuses digests it cannot keep safely (path tricks, other algorithms)', async () => {
    const store = await create();
    await expect(store.stat('sha256:../../etc/passwd')).rejects.toThrow(/sha256/);
    await expect(store.put(`sha512:${'a'.repeat(128)}`, {})).rejects.toThrow(/sha256/);
  });
});

describe('filesystem store', () => {
  it('a new store on the same directory (a restart, another process) lists what is there', async () => {
    const dir = await tempDirectory();
    const { bytes, digest } = content(4096);
    const writer = await new FsCacheStore(dir).put(digest, {});
    await writer.write(bytes);
    await writer.commit();
    const entries = [];
    for await (const entry of new FsCacheStore(dir).list()) entries.push(entry);
    expect(entries.map((e) => [e.digest, e.size])).toEqual([[digest, 4096]]);
  });

  it('removes temp files a dead process left behind, but not ones being written', async () => {
    const dir = await tempDirectory();
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await writeFile(join(dir, 'tmp', 'old.part'), 'x');
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(dir, 'tmp', 'old.part'), hourAgo, hourAgo);
    await writeFile(join(dir, 'tmp', 'new.part'), 'y');
    for await (const _ of new FsCacheStore(dir).list()) void _;
    expect(await readdir(join(dir, 'tmp'))).toEqual(['new.part']);
  });
});

describe('S3 store', () => {
  it('uploads large content in equal parts (multipart) and small content in one PUT', async () => {
    const store = s3Store('parts/');
    const large = content(12 * MiB + 123);
    s3Requests.length = 0;
    const writer = await store.put(large.digest, {});
    await writeInChunks(writer, large.bytes, 1_000_003);
    await writer.commit();
    const parts = s3Requests.filter((r) => r.method === 'PUT' && r.url.includes('partNumber='));
    expect(parts.map((r) => r.bytes)).toEqual([5 * MiB, 5 * MiB, 2 * MiB + 123]);
    expect(sameBytes(await readAll((await store.get(large.digest))!.body), large.bytes)).toBe(true);

    const small = content(1000);
    s3Requests.length = 0;
    const one = await store.put(small.digest, {});
    await one.write(small.bytes);
    await one.commit();
    expect(s3Requests.map((r) => r.method)).toEqual(['PUT']);
  });

  it('presigns a GET the client can follow without credentials', async () => {
    const store = s3Store('presign/');
    const { bytes, digest } = content(2000);
    const writer = await store.put(digest, {});
    await writer.write(bytes);
    await writer.commit();
    const url = await store.presign(digest, 300);
    expect(url).toMatch(/X-Amz-Expires=300/);
    expect(url).toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(sameBytes(new Uint8Array(await response.arrayBuffer()), bytes)).toBe(true);
  });

  it('an unreachable S3 endpoint rejects (the cache then passes requests through)', async () => {
    const store = new S3CacheStore({ bucket: 'cache', endpoint: 'http://127.0.0.1:1', accessKeyId: 'a', secretAccessKey: 'b' });
    await expect(store.stat(content(1).digest)).rejects.toThrow();
  });
});

describe('SigV4 signing (aws4fetch) against AWS published examples', () => {
  const examples = new AwsClient({ accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', service: 's3', region: 'us-east-1' });
  const emptyHash = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  const signature = (request: Request) => /Signature=([0-9a-f]{64})/.exec(request.headers.get('authorization') ?? '')?.[1];

  it('S3 GET Object with Range (header-based auth example)', async () => {
    const signed = await examples.sign('https://examplebucket.s3.amazonaws.com/test.txt', {
      method: 'GET',
      headers: { range: 'bytes=0-9', 'x-amz-content-sha256': emptyHash },
      aws: { datetime: '20130524T000000Z', allHeaders: true },
    });
    expect(signature(signed)).toBe('f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('S3 ListObjects (header-based auth example)', async () => {
    const signed = await examples.sign('https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J', {
      method: 'GET',
      headers: { 'x-amz-content-sha256': emptyHash },
      aws: { datetime: '20130524T000000Z' },
    });
    expect(signature(signed)).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('S3 presigned URL (query-string auth example)', async () => {
    const signed = await examples.sign('https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Expires=86400', {
      method: 'GET',
      aws: { datetime: '20130524T000000Z', signQuery: true },
    });
    expect(new URL(signed.url).searchParams.get('X-Amz-Signature')).toBe('aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
  });

  it('SigV4 test suite get-vanilla', async () => {
    const client = new AwsClient({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', service: 'service', region: 'us-east-1' });
    const signed = await client.sign('https://example.amazonaws.com/', { method: 'GET', aws: { datetime: '20150830T123600Z' } });
    expect(signature(signed)).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });
});
