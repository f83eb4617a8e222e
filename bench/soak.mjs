#!/usr/bin/env node
/**
 * Soak run (issue 9): a mix of pulls, aborted pulls, pushes, aborted pushes and token requests
 * through the proxy's real server on each runtime for a bounded time, printing the process's
 * RSS and open file descriptors (/proc/<pid>/fd) at the start, after warm-up and at the end.
 * Goal: after warm-up, RSS grows by less than 10 MiB and the fd count does not grow.
 *
 *   node bench/soak.mjs [--duration 60] [--warmup 10] [--concurrency 6]
 *                       [--runtimes node20,node24,deno,bun,cloud-run,custom-fetch]
 *
 * A script, not a test: it asserts nothing about speed. It exits 1 when a request got an answer
 * it should not have (a wrong status or a short body), or a proxy process died. Linux only
 * (/proc). Node 20 and the Cloud Run entry run dist/ (`npm run build` first); Node 24, Deno
 * and Bun come from .runtimes/ (bash scripts/runtimes.sh).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { setInterval, clearInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODULES = join(ROOT, '.runtimes', 'node_modules');

function flag(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : process.argv[index + 1];
}
const DURATION_S = Number(flag('duration', '60'));
const WARMUP_S = Number(flag('warmup', String(Math.min(10, DURATION_S / 4))));
const CONCURRENCY = Number(flag('concurrency', '6'));
const RUNTIMES = flag('runtimes', 'node20,node24,deno,bun,cloud-run,custom-fetch').split(',');

const NODE24 = join(MODULES, 'node', 'bin', 'node');
const TARGETS = {
  node20: () => [process.execPath, [join(ROOT, 'dist', 'cli.js')]],
  node24: () => [NODE24, [join(ROOT, 'dist', 'cli.js')]],
  deno: () => [join(MODULES, 'deno', 'deno'), ['run', '-A', '--config', join(ROOT, 'deno.json'), join(ROOT, 'adapters', 'cli', 'deno.ts')]],
  bun: () => [join(MODULES, 'bun', 'bin', 'bun.exe'), [join(ROOT, 'adapters', 'cli', 'bun.ts')]],
  'cloud-run': () => [process.execPath, [join(ROOT, 'dist', 'cloud-run-cli.js')]],
  'custom-fetch': () => [NODE24, [join(ROOT, 'test', 'faults', 'custom-fetch-cli.ts')]],
};

// ---- the upstream: a token-auth registry holding one image, accepting pushes ----
const BLOB = Buffer.alloc(1024 * 1024, 0).map((_, i) => (i * 7 + (i >> 9)) & 0xff);
const BIG = Buffer.alloc(8 * 1024 * 1024, 3);
const digest = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const BLOB_DIGEST = digest(BLOB);
const BIG_DIGEST = digest(BIG);
const MANIFEST = JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [{ digest: BLOB_DIGEST, size: BLOB.length }] });
const CLIENT_AUTH = `Basic ${Buffer.from('soak:soak-password').toString('base64')}`;

function startUpstream() {
  let uploads = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/token') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ token: `tok-${Date.now()}`, expires_in: 300 }));
    }
    if (!/^Bearer tok-/.test(req.headers.authorization ?? '')) {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="http://${req.headers.host}/token",service="soak"` });
      return res.end('{"errors":[{"code":"UNAUTHORIZED","message":"auth","detail":null}]}');
    }
    const send = (status, headers, body) => {
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (url.pathname === '/v2/') return send(200, { 'content-type': 'application/json' }, '{}');
    if (url.pathname.endsWith('/manifests/v1')) {
      return send(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': Buffer.byteLength(MANIFEST), 'docker-content-digest': digest(Buffer.from(MANIFEST)) }, MANIFEST);
    }
    const blob = url.pathname.endsWith(BLOB_DIGEST) ? BLOB : url.pathname.endsWith(BIG_DIGEST) ? BIG : undefined;
    if (blob) return send(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length, 'docker-content-digest': digest(blob) }, blob);
    if (url.pathname.endsWith('/blobs/uploads/') && req.method === 'POST') {
      req.resume();
      return send(202, { location: `${url.pathname}u${++uploads}`, 'content-length': 0 });
    }
    if (/\/blobs\/uploads\/u\d+$/.test(url.pathname)) {
      req.on('error', () => {});
      req.resume();
      req.on('end', () => send(req.method === 'PUT' ? 201 : 202, { location: url.pathname, 'content-length': 0 }));
      return;
    }
    req.resume();
    send(404, { 'content-type': 'application/json' }, '{"errors":[{"code":"NAME_UNKNOWN","message":"unknown","detail":null}]}');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` })));
}

// ---- the proxy process and its figures ----
function startProxy(name, upstream) {
  const [bin, args] = TARGETS[name]();
  if (!existsSync(bin) || !existsSync(args.at(-1))) return Promise.resolve(undefined);
  const child = spawn(bin, [...args, '--port', '0', '--host', '127.0.0.1', '--upstream', upstream, '--allow-push', '--log', 'off'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const match = /listening on (http:\/\/[^\s,"]+)/.exec(stderr);
      if (match) {
        clearInterval(timer);
        resolve({ child, url: match[1], stderr: () => stderr });
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`${name} did not start:\n${stderr}`));
      }
    }, 50);
  });
}

function figures(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMiB: rssKiB / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

// ---- the client mix ----
function request(url, { method = 'GET', headers = {}, body, abortAfter } = {}) {
  return new Promise((resolve) => {
    const req = http.request(url, { method, headers, agent: false });
    req.on('error', (error) => resolve({ status: 0, length: 0, error }));
    req.on('response', (res) => {
      let length = 0;
      res.on('data', (chunk) => {
        length += chunk.length;
        if (abortAfter !== undefined && length >= abortAfter) {
          req.destroy();
          resolve({ status: res.statusCode, length, aborted: true });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, length, headers: res.headers, complete: res.complete }));
      res.on('error', () => resolve({ status: res.statusCode, length, complete: false }));
    });
    req.end(body);
  });
}

async function token(proxy) {
  const response = await new Promise((resolve) => {
    http.get(`${proxy}/_token?service=soak&scope=repository:app:pull,push`, { headers: { authorization: CLIENT_AUTH }, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    }).on('error', () => resolve({ status: 0, text: '' }));
  });
  if (response.status !== 200) throw new Error(`token: ${response.status}`);
  return `Bearer ${JSON.parse(response.text).token}`;
}

function abandonedPatch(url, authorization) {
  const target = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(`PATCH ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nauthorization: ${authorization}\r\ncontent-length: 4194304\r\n\r\n`);
      socket.write(Buffer.alloc(64 * 1024, 1), () => setTimeout(() => socket.destroy(), 20));
    });
    socket.on('error', () => {});
    socket.on('close', resolve);
  });
}

const KINDS = ['pull', 'pull', 'pull', 'aborted pull', 'push', 'aborted push', 'token'];

async function once(proxy, kind, counts, failures) {
  const authorization = await token(proxy);
  const expect = (ok, what) => {
    if (!ok) failures.push(`${kind}: ${what}`);
  };
  switch (kind) {
    case 'pull': {
      const manifest = await request(`${proxy}/v2/app/manifests/v1`, { headers: { authorization, accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(manifest.status === 200, `manifest ${manifest.status}`);
      const blob = await request(`${proxy}/v2/app/blobs/${BLOB_DIGEST}`, { headers: { authorization } });
      expect(blob.status === 200 && blob.length === BLOB.length && blob.complete, `blob ${blob.status} ${blob.length}`);
      break;
    }
    case 'aborted pull': {
      const blob = await request(`${proxy}/v2/app/blobs/${BIG_DIGEST}`, { headers: { authorization }, abortAfter: 256 * 1024 });
      expect(blob.status === 200, `big blob ${blob.status}`);
      break;
    }
    case 'push':
    case 'aborted push': {
      const started = await request(`${proxy}/v2/app/blobs/uploads/`, { method: 'POST', headers: { authorization, 'content-length': '0' } });
      expect(started.status === 202, `upload start ${started.status}`);
      if (started.status !== 202) break;
      const location = new URL(started.headers.location, proxy).href;
      if (kind === 'aborted push') {
        await abandonedPatch(location, authorization);
        break;
      }
      const chunk = Buffer.alloc(512 * 1024, 9);
      const patched = await request(location, { method: 'PATCH', headers: { authorization, 'content-length': String(chunk.length) }, body: chunk });
      expect(patched.status === 202, `patch ${patched.status}`);
      const done = await request(`${location}?digest=${digest(chunk)}`, { method: 'PUT', headers: { authorization, 'content-length': '0' } });
      expect(done.status === 201, `put ${done.status}`);
      break;
    }
  }
  counts[kind] = (counts[kind] ?? 0) + 1;
}

async function soak(name, upstream) {
  const proxy = await startProxy(name, upstream);
  if (!proxy) return { name, skipped: 'binary or entry missing (npm run build; bash scripts/runtimes.sh)' };
  const pid = proxy.child.pid;
  const counts = {};
  const failures = [];
  const start = figures(pid);
  let warm;
  const deadline = Date.now() + DURATION_S * 1000;
  const warmAt = Date.now() + WARMUP_S * 1000;
  let turn = 0;
  // RSS every 10 s, to tell a heap settling to its size from one that keeps growing.
  const series = [];
  const sampler = setInterval(() => proxy.child.exitCode === null && series.push(figures(pid).rssMiB.toFixed(0)), 10_000);
  const worker = async () => {
    while (Date.now() < deadline && proxy.child.exitCode === null) {
      if (!warm && Date.now() >= warmAt) warm = figures(pid);
      const kind = KINDS[turn++ % KINDS.length];
      await once(proxy.url, kind, counts, failures).catch((error) => failures.push(`${kind}: ${error.message}`));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  clearInterval(sampler);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // aborted transfers and idle sockets settle
  const alive = proxy.child.exitCode === null;
  const end = alive ? figures(pid) : undefined;
  proxy.child.kill('SIGTERM');
  await new Promise((resolve) => proxy.child.once('exit', resolve));
  return { name, start, warm: warm ?? start, end, counts, failures, alive, series, stderr: proxy.stderr() };
}

const upstream = await startUpstream();
const rows = [];
let failed = false;
for (const name of RUNTIMES) {
  if (!TARGETS[name]) throw new Error(`unknown runtime ${name}; one of ${Object.keys(TARGETS).join(', ')}`);
  process.stderr.write(`soak: ${name} for ${DURATION_S} s (${CONCURRENCY} clients)…\n`);
  const result = await soak(name, upstream.url);
  rows.push(result);
  if (result.skipped) continue;
  if (!result.alive || result.failures.length > 0) failed = true;
}
upstream.server.closeAllConnections();
upstream.server.close();

const mib = (value) => (value === undefined ? '—' : value.toFixed(1));
console.log(`\nSoak: ${DURATION_S} s per runtime, ${CONCURRENCY} clients, warm-up ${WARMUP_S} s; RSS in MiB, fds = /proc/<pid>/fd entries\n`);
console.log('| runtime | RSS start | RSS warm | RSS end | Δ after warm-up | fds start | fds warm | fds end | requests (pull/aborted pull/push/aborted push/token) | failures |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const row of rows) {
  if (row.skipped) {
    console.log(`| ${row.name} | skipped: ${row.skipped} |||||||||`);
    continue;
  }
  const c = row.counts;
  const counts = ['pull', 'aborted pull', 'push', 'aborted push', 'token'].map((kind) => c[kind] ?? 0).join('/');
  const delta = row.end ? row.end.rssMiB - row.warm.rssMiB : undefined;
  console.log(
    `| ${row.name} | ${mib(row.start.rssMiB)} | ${mib(row.warm.rssMiB)} | ${mib(row.end?.rssMiB)} | ${delta === undefined ? 'died' : (delta >= 0 ? '+' : '') + delta.toFixed(1)} | ${row.start.fds} | ${row.warm.fds} | ${row.end?.fds ?? '—'} | ${counts} | ${row.alive ? row.failures.length : 'process died'} |`,
  );
  for (const failure of [...new Set(row.failures)].slice(0, 5)) console.log(`  ${row.name}: ${failure}`);
  if (!row.alive) console.log(row.stderr.slice(-2000));
}
console.log('\nRSS every 10 s (MiB):');
for (const row of rows) if (!row.skipped) console.log(`  ${row.name}: ${row.series.join(' ')}`);
process.exit(failed ? 1 : 0);
