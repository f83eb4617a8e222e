/**
 * Cache benchmark: a hit served from the filesystem store against nginx serving the same file
 * statically, on each runtime; and a cold pull against a warm pull, with the upstream requests
 * each makes. Run with Node 24 (type stripping):
 *
 *     .runtimes/node_modules/node/bin/node bench/cache.ts [--size-mib 64] [--rounds 5] [--runtimes node24-ts,deno,bun]
 *
 * The upstream is an in-process registry (one image: a manifest and one layer) that counts
 * requests; the proxy is the CLI under each runtime with `--cache DIR`; transfers are timed by
 * curl. Prints one markdown table. Everything listens on 127.0.0.1, on free ports.
 */
import { execFile as execFileCallback, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRuntime, type RuntimeName } from '../test/e2e/runtimes.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const SIZE = Number(args.get('size-mib') ?? 64) * 1024 * 1024;
const ROUNDS = Number(args.get('rounds') ?? 5);
const RUNTIMES = (args.get('runtimes') ?? 'node24-ts,deno,bun').split(',') as RuntimeName[];

const layer = randomBytes(SIZE);
const layerDigest = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: layerDigest, size: SIZE },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: SIZE }],
  }),
);
const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
const counts = new Map<string, number>();
// Async: the upstream answers from this same process, so a blocking exec would stall it.
const execFile = promisify(execFileCallback);
const curl = async (curlArgs: string[]) => (await execFile('curl', curlArgs, { encoding: 'utf8', maxBuffer: 1024 * 1024 })).stdout;

function startUpstream(): Promise<Server> {
  const server = createServer((request, response) => {
    const kind = request.url!.includes('/blobs/') ? 'blob' : request.url!.includes('/manifests/') ? 'manifest' : 'other';
    const key = `${request.method} ${kind}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (request.url === '/v2/') return response.end('{}');
    const body = kind === 'blob' && request.url!.endsWith(layerDigest) ? layer : kind === 'manifest' ? manifest : undefined;
    if (!body) return response.writeHead(404).end();
    response.writeHead(200, {
      'content-length': body.length,
      'content-type': kind === 'blob' ? 'application/octet-stream' : 'application/vnd.oci.image.manifest.v1+json',
      'docker-content-digest': kind === 'blob' ? layerDigest : manifestDigest,
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** curl's average download speed in MB/s (10^6), checking the byte count. */
async function curlSpeed(url: string): Promise<number> {
  const out = await curl(['-sS', '-o', '/dev/null', '-w', '%{size_download} %{speed_download}', url]);
  const [bytes, speed] = out.split(' ').map(Number);
  if (bytes !== SIZE) throw new Error(`${url}: got ${bytes} bytes, wanted ${SIZE}`);
  return speed! / 1e6;
}

async function repeat(measure: () => Promise<number>): Promise<number[]> {
  const values = [];
  for (let round = 0; round < ROUNDS; round++) values.push(await measure());
  return values;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function pull(proxyUrl: string): Promise<number> {
  const started = performance.now();
  await curl(['-sSf', '-o', '/dev/null', '-H', 'accept: application/vnd.oci.image.manifest.v1+json', `${proxyUrl}/v2/app/manifests/v1`]);
  await curl(['-sSf', '-o', '/dev/null', `${proxyUrl}/v2/app/blobs/${layerDigest}`]);
  return performance.now() - started;
}

async function startProxy(name: RuntimeName, upstream: string, dir: string): Promise<{ url: string; child: ChildProcess }> {
  const runtime = findRuntime(name);
  if (!runtime.bin) throw new Error(`${name} is not installed`);
  const child = spawn(runtime.bin, runtime.command(['--port', '0', '--host', '127.0.0.1', '--upstream', upstream, '--cache', dir, '--log', 'off']), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  for (let i = 0; i < 600; i++) {
    const match = /listening on (http:\/\/\S+?),/.exec(output);
    if (match) return { url: match[1]!.replace('0.0.0.0', '127.0.0.1'), child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill();
  throw new Error(`${name}: the proxy did not start:\n${output}`);
}

async function nginxSpeed(file: string): Promise<number | undefined> {
  const nginx = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => {
    try {
      execFileSync(path, ['-v'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
  if (!nginx) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'rp-bench-nginx-'));
  // nginx workers run as an unprivileged user: serve a world-readable copy of the cached file.
  await chmod(dir, 0o755);
  await copyFile(file, join(dir, 'blob'));
  await chmod(join(dir, 'blob'), 0o644);
  const port = await freePort();
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; location = /blob { alias ${dir}/blob; } } }`,
  );
  const child = spawn(nginx, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      try {
        await curl(['-sSf', '-o', '/dev/null', `http://127.0.0.1:${port}/blob`]);
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    return median(await repeat(() => curlSpeed(`http://127.0.0.1:${port}/blob`)));
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
}

const upstream = await startUpstream();
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
const rows: string[] = [];
for (const name of RUNTIMES) {
  const dir = await mkdtemp(join(tmpdir(), 'rp-bench-cache-'));
  const proxy = await startProxy(name, upstreamUrl, dir);
  try {
    counts.clear();
    const cold = await pull(proxy.url);
    const coldCounts = Object.fromEntries(counts);
    counts.clear();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const warm = await pull(proxy.url);
    const warmCounts = Object.fromEntries(counts);
    const hit = median(await repeat(() => curlSpeed(`${proxy.url}/v2/app/blobs/${layerDigest}`)));
    const hex = layerDigest.slice(7);
    if (!(await readdir(join(dir, 'blobs', 'sha256', hex.slice(0, 2)))).includes(hex)) throw new Error('the layer is not in the cache');
    const describe = (c: Record<string, number>) => Object.entries(c).sort().map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
    rows.push(`| ${name} | ${hit.toFixed(0)} | ${cold.toFixed(0)} | ${describe(coldCounts)} | ${warm.toFixed(0)} | ${describe(warmCounts)} |`);
    if (name === RUNTIMES.at(-1)) {
      const nginx = await nginxSpeed(join(dir, 'blobs', 'sha256', hex.slice(0, 2), hex));
      console.log(`\nCache benchmark: ${SIZE / 1024 / 1024} MiB layer, median of ${ROUNDS} curl downloads, 127.0.0.1\n`);
      console.log(`nginx static file (sendfile): ${nginx === undefined ? 'nginx not installed' : `${nginx.toFixed(0)} MB/s`}\n`);
      console.log('| runtime | hit MB/s | cold pull ms | upstream requests (cold) | warm pull ms | upstream requests (warm) |');
      console.log('|---|---|---|---|---|---|');
      for (const row of rows) console.log(nginx === undefined ? row : row.replace(/^\| (\S+) \| (\d+) \|/, (_m, n, v) => `| ${n} | ${v} (${(Number(v) / nginx).toFixed(2)}× nginx) |`));
    }
  } finally {
    proxy.child.kill();
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}
upstream.close();
