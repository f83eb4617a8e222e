/**
 * Test images without Docker: random (deterministic, incompressible) layers written as
 * uncompressed tarballs into an OCI image layout, then pushed with
 * `skopeo copy --preserve-digests oci:DIR:TAG docker://HOST/NAME:TAG`.
 *
 * Layer bytes depend only on (seed, layer index, size), so digests are reproducible.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunResult } from './process.ts';
import { runSkopeo } from './skopeo.ts';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export interface BlobFile {
  /** `sha256:<hex>` */
  digest: string;
  size: number;
  /** The blob's file inside the OCI layout (`DIR/blobs/sha256/<hex>`). */
  path: string;
  mediaType: string;
}

export interface TestImage {
  /** The OCI layout directory. */
  dir: string;
  tag: string;
  /** `oci:DIR:TAG`, a skopeo source. */
  ociRef: string;
  manifestDigest: string;
  manifest: BlobFile;
  config: BlobFile;
  layers: BlobFile[];
  /** config + layers + manifest. */
  blobs: BlobFile[];
  remove(): Promise<void>;
}

export interface MakeImageOptions {
  /** Sizes in bytes of the random file in each layer (the tar is ~1.5 KiB larger). */
  layers: number[];
  /** Content seed. @default 'image' */
  seed?: string;
  /** @default 'v1' */
  tag?: string;
  /** @default 'amd64' */
  arch?: string;
  /** Where to write the layout. @default a new temp directory */
  dir?: string;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A 512-byte ustar header for one regular file. */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512, 0);
  const field = (offset: number, length: number, value: string): void => {
    header.write(value, offset, length, 'ascii');
  };
  const octal = (offset: number, length: number, value: number): void => {
    field(offset, length - 1, value.toString(8).padStart(length - 1, '0'));
  };
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  field(265, 32, 'root');
  field(297, 32, 'root');
  let checksum = 0;
  for (const byte of header) checksum += byte;
  field(148, 8, checksum.toString(8).padStart(6, '0') + '\0 ');
  return header;
}

async function addBlob(dir: string, data: Buffer | string, mediaType: string): Promise<BlobFile> {
  const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  const hex = sha256Hex(buffer);
  const path = join(dir, 'blobs', 'sha256', hex);
  await writeFile(path, buffer);
  return { digest: `sha256:${hex}`, size: buffer.length, path, mediaType };
}

/** Writes a tar holding one file of `size` AES-CTR keystream bytes, hashing as it goes. */
async function writeLayer(dir: string, seed: string, size: number): Promise<BlobFile> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16, 0));
  const tmp = join(dir, `.layer-${sha256Hex(seed).slice(0, 12)}`);
  const file = await open(tmp, 'w');
  const hash = createHash('sha256');
  let total = 0;
  const write = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    total += chunk.length;
    await file.write(chunk);
  };
  try {
    await write(tarHeader('data.bin', size));
    const zeros = Buffer.alloc(MiB, 0);
    for (let left = size; left > 0; left -= MiB) {
      await write(cipher.update(left >= MiB ? zeros : zeros.subarray(0, left)));
    }
    const padding = (512 - (size % 512)) % 512;
    await write(Buffer.alloc(padding + 1024, 0));
  } finally {
    await file.close();
  }
  const hex = hash.digest('hex');
  const path = join(dir, 'blobs', 'sha256', hex);
  await rename(tmp, path);
  return { digest: `sha256:${hex}`, size: total, path, mediaType: OCI_LAYER_TAR };
}

/** Builds a single-platform OCI image in an OCI layout directory. */
export async function makeImage(options: MakeImageOptions): Promise<TestImage> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'rp-image-')));
  const tag = options.tag ?? 'v1';
  const arch = options.arch ?? 'amd64';
  const seed = options.seed ?? 'image';
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');

  const layers: BlobFile[] = [];
  for (const [index, size] of options.layers.entries()) {
    layers.push(await writeLayer(dir, `${seed}-${arch}-${index}-${size}`, size));
  }
  const config = await addBlob(
    dir,
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: { Cmd: ['/data.bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      history: [],
    }),
    OCI_CONFIG,
  );
  const manifest = await addBlob(
    dir,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
    OCI_MANIFEST,
  );
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: manifest.digest,
          size: manifest.size,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return {
    dir,
    tag,
    ociRef: `oci:${dir}:${tag}`,
    manifestDigest: manifest.digest,
    manifest,
    config,
    layers,
    blobs: [config, ...layers, manifest],
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface PushOptions {
  /** Tag to push as. @default image.tag */
  tag?: string;
  /** `user:password` for `--dest-creds`. */
  creds?: string;
}

/**
 * Pushes `image` to `docker://HOST/REPOSITORY:TAG` with skopeo (digests preserved: the layers
 * stay uncompressed tars and the manifest digest is unchanged). Throws with skopeo's output on
 * failure.
 */
export async function pushImage(
  image: TestImage,
  registry: { host: string } | string,
  repository: string,
  options: PushOptions = {},
): Promise<RunResult> {
  const host = typeof registry === 'string' ? registry : registry.host;
  const tag = options.tag ?? image.tag;
  const args = ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false'];
  if (options.creds) args.push('--dest-creds', options.creds);
  else args.push('--dest-no-creds');
  args.push(image.ociRef, `docker://${host}/${repository}:${tag}`);
  const result = await runSkopeo(args);
  if (result.code !== 0) {
    throw new Error(`skopeo push to ${host}/${repository}:${tag} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  }
  return result;
}
