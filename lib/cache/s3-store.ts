import { AwsClient } from 'aws4fetch';
import type { CacheStore, ContentEntry, ContentInfo, ContentWriter, StoredContent } from '../options/types.ts';
import { sha256Hex } from './digest.ts';

/** S3 refuses multipart parts under 5 MiB (but the last). */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
/** The cache's own media type for a manifest rides along as object metadata. */
const TYPE_HEADER = 'x-amz-meta-content-type';
const SHA256 = /^sha256:([a-f0-9]{64})$/;

export interface S3CacheStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket, e.g. `registry-proxy/`. @default '' */
  prefix?: string;
  /** @default 'us-east-1' */
  region?: string;
  /**
   * For S3-compatible stores (MinIO, Ceph, R2, GCS's XML API): their origin, addressed
   * path-style (`<endpoint>/<bucket>/<key>`). @default `https://s3.<region>.amazonaws.com`
   */
  endpoint?: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Multipart part size for large content; every part but the last has exactly this size. @default 16 MiB */
  partSize?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * The cache in an S3-compatible bucket, signed with aws4fetch (web-standard, every runtime).
 * Content lives under its digest, so a key is its own integrity check: the cache verifies
 * before writing, and nothing is written under a digest the bytes do not hash to. Content
 * above one part is sent as a multipart upload of equal parts and becomes visible only when
 * completed. Readers cannot read an upload in progress; the cache keeps a window for them.
 *
 *     <prefix>blobs/sha256/<hex>            content (manifest type in x-amz-meta-content-type)
 *     <prefix>links/sha256/<hex>/<hash>     one object per (route, repository) that may see it
 *     <prefix>records/<hash>                tag → digest, tag lists
 */
export class S3CacheStore implements CacheStore {
  private readonly client: AwsClient;
  private readonly base: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly fetch: typeof fetch;

  constructor(options: S3CacheStoreOptions) {
    if (!options.bucket || !/^[a-z0-9][a-z0-9.-]{1,62}$/.test(options.bucket)) {
      throw new TypeError(`registry-proxy: S3 bucket name ${JSON.stringify(options.bucket)} is not valid`);
    }
    if (!options.accessKeyId || !options.secretAccessKey) throw new TypeError('registry-proxy: S3 credentials (accessKeyId, secretAccessKey) are required');
    const region = options.region ?? 'us-east-1';
    const endpoint = (options.endpoint ?? `https://s3.${region}.amazonaws.com`).replace(/\/+$/, '');
    this.base = `${endpoint}/${options.bucket}/`;
    this.prefix = (options.prefix ?? '').replace(/^\/+/, '');
    if (this.prefix !== '' && !this.prefix.endsWith('/')) this.prefix += '/';
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new TypeError(`registry-proxy: S3 partSize must be at least ${MIN_PART_SIZE} bytes`);
    }
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.client = new AwsClient({
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      sessionToken: options.sessionToken,
      service: 's3',
      region,
      retries: 0,
    });
  }

  async get(digest: string, range?: { start: number; end: number }): Promise<StoredContent | undefined> {
    if (range && range.end <= range.start) {
      const info = await this.stat(digest);
      return info && { ...info, body: new ReadableStream({ start: (controller) => controller.close() }) };
    }
    const headers: HeadersInit = range ? { range: `bytes=${range.start}-${range.end - 1}` } : {};
    const response = await this.send(this.contentKey(digest), { headers });
    if (response.status === 404) return discard(response, undefined);
    if (!response.ok || !response.body) throw await failure('GET', response);
    const total = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1] ?? response.headers.get('content-length');
    return { size: Number(total), contentType: response.headers.get(TYPE_HEADER) ?? undefined, body: response.body };
  }

  async stat(digest: string): Promise<ContentInfo | undefined> {
    const response = await this.send(this.contentKey(digest), { method: 'HEAD' });
    if (response.status === 404) return undefined;
    if (!response.ok) throw await failure('HEAD', response);
    return { size: Number(response.headers.get('content-length')), contentType: response.headers.get(TYPE_HEADER) ?? undefined };
  }

  async put(digest: string, info: { contentType?: string }): Promise<ContentWriter> {
    const key = this.contentKey(digest);
    const metadata: Record<string, string> = info.contentType ? { [TYPE_HEADER]: info.contentType } : {};
    const part = new Uint8Array(this.partSize);
    let filled = 0;
    let uploadId: string | undefined;
    const etags: string[] = [];

    const uploadPart = async (bytes: Uint8Array<ArrayBuffer>) => {
      if (uploadId === undefined) {
        const created = await this.send(`${key}?uploads=`, { method: 'POST', headers: metadata });
        if (!created.ok) throw await failure('CreateMultipartUpload', created);
        uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await created.text())?.[1];
        if (!uploadId) throw new Error('S3 CreateMultipartUpload answered without an UploadId');
      }
      const number = etags.length + 1;
      const uploaded = await this.send(`${key}?partNumber=${number}&uploadId=${encodeURIComponent(uploadId)}`, { method: 'PUT', body: bytes as Uint8Array<ArrayBuffer> });
      if (!uploaded.ok) throw await failure('UploadPart', uploaded);
      await uploaded.body?.cancel();
      etags.push(uploaded.headers.get('etag') ?? '');
    };

    return {
      write: async (chunk) => {
        let offset = 0;
        while (offset < chunk.byteLength) {
          const taken = Math.min(chunk.byteLength - offset, this.partSize - filled);
          part.set(chunk.subarray(offset, offset + taken), filled);
          filled += taken;
          offset += taken;
          if (filled === this.partSize) {
            await uploadPart(part.slice());
            filled = 0;
          }
        }
      },
      commit: async () => {
        if (uploadId === undefined) {
          const response = await this.send(key, { method: 'PUT', headers: metadata, body: part.slice(0, filled) });
          if (!response.ok) throw await failure('PUT', response);
          await response.body?.cancel();
          return;
        }
        if (filled > 0) await uploadPart(part.slice(0, filled));
        const parts = etags.map((etag, index) => `<Part><PartNumber>${index + 1}</PartNumber><ETag>${escapeXml(etag)}</ETag></Part>`).join('');
        const completed = await this.send(`${key}?uploadId=${encodeURIComponent(uploadId)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/xml' },
          body: `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`,
        });
        // S3 may answer 200 with an error document when completion fails late.
        const text = await completed.text();
        if (!completed.ok || text.includes('<Error>')) throw new Error(`S3 CompleteMultipartUpload failed: ${completed.status} ${text.slice(0, 200)}`);
      },
      abort: async () => {
        if (uploadId === undefined) return;
        const response = await this.send(`${key}?uploadId=${encodeURIComponent(uploadId)}`, { method: 'DELETE' });
        await response.body?.cancel();
      },
    };
  }

  async delete(digest: string): Promise<void> {
    // Content first: a leftover link is harmless without it.
    await this.deleteKey(this.contentKey(digest));
    for await (const { key } of this.listKeys(this.linksPrefix(digest))) await this.deleteKey(key);
  }

  async *list(): AsyncIterable<ContentEntry> {
    const prefix = `${this.prefix}blobs/sha256/`;
    for await (const { key, size, lastModified } of this.listKeys(prefix)) {
      const hex = key.slice(prefix.length);
      if (/^[a-f0-9]{64}$/.test(hex)) yield { digest: `sha256:${hex}`, size, lastUsed: lastModified };
    }
  }

  /**
   * A no-op: renewing an object means copying it onto itself, a paid request per read. Reads
   * renew the cache's in-memory order; after a restart the order is by time of fill.
   */
  async touch(): Promise<void> {}

  async link(digest: string, owner: string): Promise<void> {
    const response = await this.send(`${this.linksPrefix(digest)}${sha256Hex(owner)}`, { method: 'PUT', body: owner });
    if (!response.ok) throw await failure('PUT link', response);
    await response.body?.cancel();
  }

  async unlink(digest: string, owner: string): Promise<void> {
    await this.deleteKey(`${this.linksPrefix(digest)}${sha256Hex(owner)}`);
  }

  async isLinked(digest: string, owner: string): Promise<boolean> {
    const response = await this.send(`${this.linksPrefix(digest)}${sha256Hex(owner)}`, { method: 'HEAD' });
    if (response.status === 404) return false;
    if (!response.ok) throw await failure('HEAD link', response);
    return true;
  }

  async getRecord(key: string): Promise<string | undefined> {
    const response = await this.send(this.recordKey(key));
    if (response.status === 404) return discard(response, undefined);
    if (!response.ok) throw await failure('GET record', response);
    return response.text();
  }

  async putRecord(key: string, value: string): Promise<void> {
    const response = await this.send(this.recordKey(key), { method: 'PUT', body: value });
    if (!response.ok) throw await failure('PUT record', response);
    await response.body?.cancel();
  }

  async deleteRecord(key: string): Promise<void> {
    await this.deleteKey(this.recordKey(key));
  }

  async presign(digest: string, expiresSeconds: number): Promise<string> {
    const url = new URL(this.base + this.contentKey(digest));
    url.searchParams.set('X-Amz-Expires', String(expiresSeconds));
    const signed = await this.client.sign(url.toString(), { method: 'GET', aws: { signQuery: true } });
    return signed.url;
  }

  private contentKey(digest: string): string {
    return `${this.prefix}blobs/sha256/${hexOf(digest)}`;
  }

  private linksPrefix(digest: string): string {
    return `${this.prefix}links/sha256/${hexOf(digest)}/`;
  }

  private recordKey(key: string): string {
    return `${this.prefix}records/${sha256Hex(key)}`;
  }

  private async send(keyAndQuery: string, init: RequestInit = {}): Promise<Response> {
    const signed = await this.client.sign(this.base + keyAndQuery, init);
    return this.fetch(signed);
  }

  private async deleteKey(key: string): Promise<void> {
    const response = await this.send(key, { method: 'DELETE' });
    if (!response.ok && response.status !== 404) throw await failure('DELETE', response);
    await response.body?.cancel();
  }

  /** ListObjectsV2 under `prefix`, every page. */
  private async *listKeys(prefix: string): AsyncIterable<{ key: string; size: number; lastModified: number }> {
    let token: string | undefined;
    do {
      const query = new URLSearchParams({ 'list-type': '2', prefix });
      if (token) query.set('continuation-token', token);
      const response = await this.send(`?${query}`);
      if (!response.ok) throw await failure('ListObjectsV2', response);
      const xml = await response.text();
      for (const [, body] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = unescapeXml(/<Key>([^<]*)<\/Key>/.exec(body!)?.[1] ?? '');
        const size = Number(/<Size>(\d+)<\/Size>/.exec(body!)?.[1] ?? 0);
        const lastModified = Date.parse(/<LastModified>([^<]+)<\/LastModified>/.exec(body!)?.[1] ?? '') || 0;
        yield { key, size, lastModified };
      }
      token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? unescapeXml(/<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(xml)?.[1] ?? '') : undefined;
    } while (token);
  }
}

function hexOf(digest: string): string {
  const match = SHA256.exec(digest);
  if (!match) throw new TypeError(`registry-proxy: the cache stores sha256 digests only, got ${JSON.stringify(digest.slice(0, 80))}`);
  return match[1]!;
}

async function failure(operation: string, response: Response): Promise<Error> {
  const text = await response.text().catch(() => '');
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  return new Error(`S3 ${operation} failed: ${response.status}${code ? ` ${code}` : ''}`);
}

function discard<T>(response: Response, value: T): T {
  response.body?.cancel().catch(() => {});
  return value;
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function unescapeXml(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&amp;', '&');
}
