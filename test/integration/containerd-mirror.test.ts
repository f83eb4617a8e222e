/**
 * The README's containerd mirror recipe, run as written: its `hosts.toml` (plain-HTTP host key)
 * and its `ctr image pull --hosts-dir …` command, with `ctr` against a containerd this test
 * starts (own root, state and socket in a temporary folder; containerd needs root). The proxy
 * routes by containerd's `?ns=` to two routes in front of one real distribution registry,
 * each with its own repository prefix holding a different image: the digest containerd pulls
 * shows which route served it.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KiB, makeImage, pushImage, type TestImage } from './harness/images.ts';
import { expectNoProxyErrors, startCleanedUpProxy, useCleanups } from './harness/lifecycle.ts';
import { requireCommands, run, spawnTracked, type TrackedProcess } from './harness/process.ts';
import type { TestProxy } from './harness/proxy.ts';
import { startRegistry, type Registry } from './harness/registry.ts';

const README = join(import.meta.dirname, '..', '..', 'README.md');
const canRun = process.getuid?.() === 0;
const cleanups = useCleanups();

/** The code blocks the README marks as tested by this file. */
async function recipe(): Promise<{ hostsToml: string; pull: string }> {
  const text = await readFile(README, 'utf8');
  const blocks = [...text.matchAll(/<!-- tested: test\/integration\/containerd-mirror\.test\.ts -->\s*```(\w+)\n([\s\S]*?)```/g)];
  const toml = blocks.find((block) => block[1] === 'toml')?.[2];
  const sh = blocks.find((block) => block[1] === 'sh')?.[2];
  if (!toml || !sh) throw new Error('README.md lost its tested containerd recipe');
  return { hostsToml: toml, pull: sh.trim().split('\n').map((line) => line.trim()).join(' ') };
}

let registry: Registry;
let proxy: TestProxy;
let hub: TestImage;
let ghcr: TestImage;
let dir: string;
let socket: string;
let containerd: TrackedProcess;

async function ctr(args: string[]) {
  // The native snapshotter unpacks anywhere (overlayfs may not nest in a container).
  return run('ctr', ['--address', socket, ...args], { env: { ...process.env, CONTAINERD_SNAPSHOTTER: 'native' }, timeoutMs: 60_000 });
}

beforeAll(async () => {
  if (!canRun) return;
  await requireCommands('docker-registry', 'skopeo', 'containerd', 'ctr');
  registry = await startRegistry({ auth: 'none' });
  cleanups.push(() => registry.stop());
  hub = await makeImage({ layers: [64 * KiB], seed: 'containerd-hub', tag: 'latest' });
  ghcr = await makeImage({ layers: [96 * KiB], seed: 'containerd-ghcr', tag: 'v1' });
  cleanups.push(() => hub.remove(), () => ghcr.remove());
  await pushImage(hub, registry, 'hub/library/alpine');
  await pushImage(ghcr, registry, 'ghcr/owner/app');
  proxy = await startCleanedUpProxy(cleanups, {
    upstreams: [
      { upstream: registry.url, name: 'hub', namespaces: ['docker.io'], repositoryPrefix: 'hub' },
      { upstream: registry.url, name: 'ghcr', namespaces: ['ghcr.io'], repositoryPrefix: 'ghcr' },
    ],
  });

  dir = await mkdtemp(join(tmpdir(), 'rp-containerd-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  await writeFile(
    config,
    [
      'version = 2',
      `root = ${JSON.stringify(join(dir, 'root'))}`,
      `state = ${JSON.stringify(join(dir, 'state'))}`,
      // Only the content store and snapshots are needed: no CRI, no tasks of its own.
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.devmapper"]',
      '[grpc]',
      `  address = ${JSON.stringify(socket)}`,
      '[ttrpc]',
      `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
      '',
    ].join('\n'),
  );
  containerd = spawnTracked('containerd', ['--config', config]);
  cleanups.push(() => containerd.stop());
  const deadline = Date.now() + 30_000;
  while ((await ctr(['version'])).code !== 0) {
    if (Date.now() > deadline) throw new Error(`containerd did not start:\n${containerd.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 120_000);

afterAll(() => {
  if (canRun) expectNoProxyErrors(proxy);
});

describe.skipIf(!canRun)("the README's containerd mirror recipe (ctr, hosts.toml)", () => {
  it('pulls docker.io and ghcr.io images through one proxy host, routed by ns', async () => {
    const { hostsToml, pull } = await recipe();
    const proxyHost = new URL(proxy.url).host;
    const hostsDir = join(dir, 'certs.d');
    const hosts = hostsToml.replace('mirror.example.com:8080', proxyHost);
    expect(hosts).toContain(`[host."http://${proxyHost}"]`);
    await mkdir(join(hostsDir, 'docker.io'), { recursive: true });
    await writeFile(join(hostsDir, 'docker.io', 'hosts.toml'), hosts);
    // "the same for ghcr.io, with its own server"
    await mkdir(join(hostsDir, 'ghcr.io'), { recursive: true });
    await writeFile(join(hostsDir, 'ghcr.io', 'hosts.toml'), hosts.replace('https://registry-1.docker.io', 'https://ghcr.io'));

    // The README's command, with this test's folder for /etc/containerd/certs.d.
    const args = pull.replace('/etc/containerd/certs.d', hostsDir).split(/\s+/);
    expect(args.slice(0, 4)).toEqual(['ctr', 'image', 'pull', '--hosts-dir']);
    const fromHub = await ctr(args.slice(1));
    expect(fromHub.code, fromHub.stderr + fromHub.stdout).toBe(0);
    const fromGhcr = await ctr([...args.slice(1, -1), 'ghcr.io/owner/app:v1']);
    expect(fromGhcr.code, fromGhcr.stderr + fromGhcr.stdout).toBe(0);

    const images = (await ctr(['image', 'ls'])).stdout;
    expect(images).toMatch(new RegExp(`^docker\\.io/library/alpine:latest\\s+\\S+\\s+${hub.manifestDigest}\\s`, 'm'));
    expect(images).toMatch(new RegExp(`^ghcr\\.io/owner/app:v1\\s+\\S+\\s+${ghcr.manifestDigest}\\s`, 'm'));
  }, 120_000);
});
