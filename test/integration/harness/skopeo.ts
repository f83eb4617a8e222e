/**
 * skopeo helpers: inspect and pull (`docker://` → `oci:` layout) from a registry or a proxy on
 * 127.0.0.1, and a byte-for-byte comparison of a pulled layout with the original image.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessExit, run, type RunResult } from './process.ts';
import type { TestImage } from './images.ts';

let authFile: string | undefined;

/** A per-worker empty auth file, so skopeo never picks up credentials from the machine. */
export function emptyAuthFile(): string {
  if (authFile === undefined) {
    const path = join(tmpdir(), `rp-skopeo-auth-${process.pid}.json`);
    if (!existsSync(path)) {
      writeFileSync(path, '{"auths":{}}\n');
      onProcessExit(() => rmSync(path, { force: true }));
    }
    authFile = path;
  }
  return authFile;
}

/** Environment for skopeo: no proxies from the environment, no user auth files. */
export function skopeoEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']) delete env[name];
  env.NO_PROXY = '127.0.0.1,localhost';
  env.no_proxy = '127.0.0.1,localhost';
  env.REGISTRY_AUTH_FILE = emptyAuthFile();
  return env;
}

export interface SkopeoResult extends RunResult {
  /** The command line, for failure messages (credentials masked). */
  command: string;
}

export interface SkopeoOptions {
  /** Pass `--debug` (HTTP requests and auth steps are logged on stderr). */
  debug?: boolean;
  /** @default 120000 */
  timeoutMs?: number;
}

/** `skopeo --insecure-policy [--debug] ARGS…` with {@link skopeoEnv}. */
export async function runSkopeo(args: string[], options: SkopeoOptions = {}): Promise<SkopeoResult> {
  const full = ['--insecure-policy', ...(options.debug ? ['--debug'] : []), ...args];
  const result = await run('skopeo', full, { timeoutMs: options.timeoutMs ?? 120_000, env: skopeoEnv() });
  const masked = full.map((arg, i) => (/creds$/.test(full[i - 1] ?? '') ? arg.replace(/:.*/, ':***') : arg));
  return { ...result, command: `skopeo ${masked.join(' ')}` };
}

/** Formats a failed skopeo run for an assertion message. */
export function describe(result: SkopeoResult): string {
  return `${result.command}\nexit ${result.code}${result.timedOut ? ' (timed out)' : ''}\n--- stderr ---\n${result.stderr.slice(-8000)}\n--- stdout ---\n${result.stdout.slice(-2000)}`;
}

export interface RemoteRef {
  /** `127.0.0.1:PORT` or `http://127.0.0.1:PORT` */
  host: string;
  repository: string;
  /** @default 'v1' */
  tag?: string;
}

function dockerRef(ref: RemoteRef): string {
  const host = ref.host.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  return `docker://${host}/${ref.repository}:${ref.tag ?? 'v1'}`;
}

export interface InspectOptions extends SkopeoOptions {
  /** `user:password` for `--creds`; without it `--no-creds`. */
  creds?: string;
  /** `--raw`: print the manifest as served. */
  raw?: boolean;
}

export interface InspectResult extends SkopeoResult {
  /** Parsed stdout when it was JSON. */
  json: Record<string, unknown> | undefined;
}

export async function skopeoInspect(ref: RemoteRef, options: InspectOptions = {}): Promise<InspectResult> {
  const args = ['inspect', '--tls-verify=false'];
  if (options.creds) args.push('--creds', options.creds);
  else args.push('--no-creds');
  if (options.raw) args.push('--raw');
  args.push(dockerRef(ref));
  const result = await runSkopeo(args, options);
  let json: Record<string, unknown> | undefined;
  if (result.code === 0) {
    try {
      json = JSON.parse(result.stdout) as Record<string, unknown>;
    } catch {
      json = undefined;
    }
  }
  return { ...result, json };
}

export interface CopyOptions extends SkopeoOptions {
  /** `user:password` for `--src-creds`; without it `--src-no-creds`. */
  creds?: string;
  /** Destination OCI layout directory. @default a new temp directory */
  dir?: string;
}

export interface CopyResult extends SkopeoResult {
  /** The OCI layout the image was copied into. */
  dir: string;
  remove(): Promise<void>;
}

/** `skopeo copy docker://HOST/REPO:TAG oci:DIR:TAG` (layers kept as served: no conversion). */
export async function skopeoCopyToOci(ref: RemoteRef, options: CopyOptions = {}): Promise<CopyResult> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'rp-pull-')));
  // --preserve-digests: an oci: destination otherwise gzips uncompressed layers on the way in.
  const args = ['copy', '--preserve-digests', '--src-tls-verify=false'];
  if (options.creds) args.push('--src-creds', options.creds);
  else args.push('--src-no-creds');
  args.push(dockerRef(ref), `oci:${dir}:${ref.tag ?? 'v1'}`);
  const result = await runSkopeo(args, options);
  return { ...result, dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface BlobComparison {
  digest: string;
  role: 'manifest' | 'config' | 'layer';
  size: number;
  /** sha256 of the pulled file, `sha256:<hex>`, or undefined when the file is missing. */
  pulledDigest: string | undefined;
  sameBytes: boolean;
}

export interface LayoutComparison {
  ok: boolean;
  /** Human-readable problems; empty when `ok`. */
  problems: string[];
  blobs: BlobComparison[];
}

/**
 * Compares every blob of `image` (manifest, config, each layer) with the pulled OCI layout at
 * `dir`: the pulled file must exist under its digest, hash to that digest, and hold exactly
 * the original file's bytes; the layout's index.json must point at the original manifest.
 */
export async function compareLayout(dir: string, image: TestImage): Promise<LayoutComparison> {
  const problems: string[] = [];
  const blobs: BlobComparison[] = [];
  const roles: Array<[TestImage['blobs'][number], BlobComparison['role']]> = [
    [image.manifest, 'manifest'],
    [image.config, 'config'],
    ...image.layers.map((layer): [TestImage['blobs'][number], BlobComparison['role']] => [layer, 'layer']),
  ];
  for (const [blob, role] of roles) {
    const hex = blob.digest.slice('sha256:'.length);
    const pulledPath = join(dir, 'blobs', 'sha256', hex);
    let pulled: Buffer | undefined;
    try {
      pulled = await readFile(pulledPath);
    } catch {
      pulled = undefined;
    }
    const original = await readFile(blob.path);
    const pulledDigest = pulled ? `sha256:${createHash('sha256').update(pulled).digest('hex')}` : undefined;
    const sameBytes = pulled !== undefined && pulled.length === original.length && pulled.equals(original);
    blobs.push({ digest: blob.digest, role, size: blob.size, pulledDigest, sameBytes });
    if (!pulled) problems.push(`${role} ${blob.digest}: missing from pulled layout ${dir}`);
    else if (pulledDigest !== blob.digest) problems.push(`${role} ${blob.digest}: pulled file hashes to ${pulledDigest} (${pulled.length} bytes, want ${blob.size})`);
    else if (!sameBytes) problems.push(`${role} ${blob.digest}: bytes differ from ${blob.path}`);
  }
  try {
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests?: Array<{ digest?: string }> };
    const digests = (index.manifests ?? []).map((m) => m.digest);
    if (!digests.includes(image.manifestDigest)) {
      problems.push(`index.json points at ${digests.join(', ')}, not the original manifest ${image.manifestDigest}`);
    }
  } catch (error) {
    problems.push(`cannot read ${dir}/index.json: ${String(error)}`);
  }
  return { ok: problems.length === 0, problems, blobs };
}
