/**
 * In-memory image content for the upstream mocks: real sha256 digests over the exact bytes
 * served, so a proxy that re-serialises a manifest or corrupts a blob fails digest checks.
 */
import { createHash, randomBytes } from 'node:crypto';

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** An Accept header for manifest GETs that takes every manifest and index type (distribution 2.8 404s OCI manifests without it). */
export const MANIFEST_ACCEPT = [MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerList].join(', ');

export type Digest = `sha256:${string}`;

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A piece of content-addressed data: exactly these bytes are stored and served. */
export interface Content {
  digest: Digest;
  mediaType: string;
  bytes: Uint8Array;
}

export interface BuiltImage {
  kind: 'image';
  manifest: Content;
  config: Content;
  layers: Content[];
  platform: Platform;
  /** The manifest's descriptor, as an index or a referrer would list it. */
  descriptor: Descriptor;
}

export interface BuiltIndex {
  kind: 'index';
  manifest: Content;
  children: BuiltImage[];
  descriptor: Descriptor;
}

export type Built = BuiltImage | BuiltIndex;

export function sha256(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

function content(mediaType: string, bytes: Uint8Array): Content {
  return { digest: sha256(bytes), mediaType, bytes };
}

function descriptorOf(c: Content, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType: c.mediaType, digest: c.digest, size: c.bytes.byteLength, ...extra };
}

function encodeJson(value: unknown, indent: number | undefined): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, indent));
}

export interface ImageOptions {
  /** `oci` (default) or Docker schema2 media types. */
  format?: 'oci' | 'docker';
  /** Byte size of each layer; layers are random bytes. @default [1024] */
  layers?: number[];
  /** @default { os: 'linux', architecture: 'amd64' } */
  platform?: Platform;
  /** Pretty-print the manifest with this indent (GCR serves 3-space JSON: GCR-2). */
  indent?: number;
  /** Makes the manifest a referrer of this descriptor (OCI 1.1 `subject`). */
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export function buildImage(options: ImageOptions = {}): BuiltImage {
  const docker = options.format === 'docker';
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers = (options.layers ?? [1024]).map((size) =>
    content(docker ? MediaType.dockerLayer : MediaType.ociLayer, new Uint8Array(randomBytes(size))),
  );
  const configJson = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.bytes)) },
    // A nonce keeps two otherwise identical images from sharing a config digest.
    created: new Date(Date.UTC(2024, 0, 1)).toISOString(),
    history: [{ created_by: `mock ${randomBytes(6).toString('hex')}` }],
  };
  const config = content(docker ? MediaType.dockerConfig : MediaType.ociConfig, encodeJson(configJson, undefined));
  const manifestMediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifestJson = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    ...(options.artifactType ? { artifactType: options.artifactType } : {}),
    config: descriptorOf(config),
    layers: layers.map((l) => descriptorOf(l)),
    ...(options.subject ? { subject: options.subject } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const manifest = content(manifestMediaType, encodeJson(manifestJson, options.indent));
  return {
    kind: 'image',
    manifest,
    config,
    layers,
    platform,
    descriptor: descriptorOf(manifest, {
      platform,
      ...(options.artifactType ? { artifactType: options.artifactType } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
    }),
  };
}

export interface IndexOptions {
  /** `oci` index (default) or Docker manifest list; children get the matching format. */
  format?: 'oci' | 'docker';
  /** @default [linux/amd64, linux/arm64] */
  platforms?: Platform[];
  layers?: number[];
  indent?: number;
}

export function buildIndex(options: IndexOptions = {}): BuiltIndex {
  const format = options.format ?? 'oci';
  const platforms = options.platforms ?? [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
  ];
  const children = platforms.map((platform) =>
    buildImage({ format, platform, ...(options.layers ? { layers: options.layers } : {}), ...(options.indent ? { indent: options.indent } : {}) }),
  );
  const mediaType = format === 'docker' ? MediaType.dockerList : MediaType.ociIndex;
  const json = { schemaVersion: 2, mediaType, manifests: children.map((c) => c.descriptor) };
  const manifest = content(mediaType, encodeJson(json, options.indent));
  return { kind: 'index', manifest, children, descriptor: descriptorOf(manifest) };
}

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList;
}

/** One repository: tags point at manifest digests; blobs and manifests are linked per repository as in distribution. */
export class Repository {
  readonly tags = new Map<string, Digest>();
  readonly manifests = new Map<Digest, Content>();
  readonly blobs = new Map<Digest, Content>();
  /** Private repositories need credentials; what "private" means is per registry. */
  private = false;

  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  /** Stores an image or index (with all its children and blobs) and points `tag` at it. */
  push(built: Built, tag?: string): Built {
    if (built.kind === 'index') {
      for (const child of built.children) this.push(child);
    } else {
      for (const blob of [built.config, ...built.layers]) this.blobs.set(blob.digest, blob);
    }
    this.manifests.set(built.manifest.digest, built.manifest);
    if (tag !== undefined) this.tags.set(tag, built.manifest.digest);
    return built;
  }

  /** Resolves a tag or digest to the stored manifest. */
  manifest(reference: string): Content | undefined {
    const digest = reference.startsWith('sha256:') ? (reference as Digest) : this.tags.get(reference);
    return digest === undefined ? undefined : this.manifests.get(digest);
  }

  /** Manifests in this repository whose `subject` is `digest` (the Referrers API). */
  referrers(digest: string): Descriptor[] {
    const found: Descriptor[] = [];
    for (const m of this.manifests.values()) {
      const json = JSON.parse(new TextDecoder().decode(m.bytes)) as {
        subject?: Descriptor;
        artifactType?: string;
        config?: Descriptor;
        annotations?: Record<string, string>;
      };
      if (json.subject?.digest !== digest) continue;
      const artifactType = json.artifactType ?? json.config?.mediaType;
      found.push({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.bytes.byteLength,
        ...(artifactType ? { artifactType } : {}),
        ...(json.annotations ? { annotations: json.annotations } : {}),
      });
    }
    return found;
  }
}

/** All repositories of one mock registry. */
export class RegistryStore {
  readonly repositories = new Map<string, Repository>();

  repository(name: string): Repository | undefined {
    return this.repositories.get(name);
  }

  /** Gets or creates a repository. */
  ensure(name: string): Repository {
    let repo = this.repositories.get(name);
    if (!repo) {
      repo = new Repository(name);
      this.repositories.set(name, repo);
    }
    return repo;
  }

  /** Finds a blob by digest in any repository (CDNs are content-addressed, not per repository). */
  findBlob(digest: string): Content | undefined {
    for (const repo of this.repositories.values()) {
      const blob = repo.blobs.get(digest as Digest);
      if (blob) return blob;
    }
    return undefined;
  }
}
