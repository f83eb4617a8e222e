#!/usr/bin/env node
// Cold start: time from process spawn to the first `200` on GET /v2/, polled every ~1 ms.
//
//   node bench/coldstart.mjs RUNS PORT 'SHELL COMMAND'   (env for the command: PORT=PORT)
//   env: COLD_HEADER='Authorization: Bearer bench' (sent with every poll), COLD_TIMEOUT_MS=15000,
//        COLD_LOG=FILE (append the spawned process's output)
// Prints `coldstart_ms=<median> coldstart_runs=a/b/c` (or coldstart_ms=FAIL). Each run's process
// group is killed (SIGTERM, then SIGKILL) and awaited before the next starts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';

const [runsArg, portArg, command] = process.argv.slice(2);
if (!command) {
  console.error('usage: coldstart.mjs RUNS PORT COMMAND');
  process.exit(2);
}
const runs = Number(runsArg);
const port = Number(portArg);
const timeoutMs = Number(process.env.COLD_TIMEOUT_MS || 15000);
const headers = {};
if (process.env.COLD_HEADER) {
  const i = process.env.COLD_HEADER.indexOf(':');
  headers[process.env.COLD_HEADER.slice(0, i).trim()] = process.env.COLD_HEADER.slice(i + 1).trim();
}
const agent = new http.Agent({ keepAlive: false });
// the spawned process's stdout/stderr (for diagnosing a start that fails)
const logFd = process.env.COLD_LOG ? fs.openSync(process.env.COLD_LOG, 'a') : 'ignore';

function poll() {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v2/', headers, agent }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => req.destroy());
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function portFree() {
  for (let i = 0; i < 200; i++) {
    if ((await poll()) === 0) return true;
    await sleep(25);
  }
  return false;
}

async function once() {
  if (!(await portFree())) throw new Error(`port ${port} busy before spawn`);
  const t0 = process.hrtime.bigint();
  const child = spawn('bash', ['-c', command], { env: { ...process.env, PORT: String(port) }, detached: true, stdio: ['ignore', logFd, logFd] });
  let exited = false;
  const exitP = new Promise((r) => child.on('exit', () => { exited = true; r(); }));
  let ms = NaN;
  let last = 0;
  while (!exited) {
    last = await poll();
    if (last === 200) {
      ms = Number(process.hrtime.bigint() - t0) / 1e6;
      break;
    }
    if (Number(process.hrtime.bigint() - t0) / 1e6 > timeoutMs) break;
    await sleep(1);
  }
  try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ }
  const killer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, 3000);
  await exitP;
  clearTimeout(killer);
  if (Number.isNaN(ms)) throw new Error(exited ? `process exited before 200 (last status ${last})` : `no 200 within ${timeoutMs} ms (last status ${last})`);
  return ms;
}

const vals = [];
try {
  await once(); // warm the page cache / JIT caches once; not counted
  for (let i = 0; i < runs; i++) vals.push(await once());
} catch (e) {
  console.error(`coldstart: ${e.message}`);
  console.log('coldstart_ms=FAIL');
  process.exit(0);
}
const s = [...vals].sort((a, b) => a - b);
const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
console.log(`coldstart_ms=${med.toFixed(1)} coldstart_runs=${vals.map((v) => v.toFixed(1)).join('/')}`);
