/**
 * What the runtimes' own fetch guarantees about a response body, the evidence behind
 * adapters/deno-fetch.ts and adapters/bun-fetch.ts: a body cut short of its Content-Length (the
 * upstream closes or resets the connection, or a chunked body loses its end) errors on Deno and
 * on Bun, so the proxy need not count bytes there; a body that stalls is left waiting forever by
 * Deno's fetch (the proxy keeps its own idle check) and errored by Bun's when given its
 * `timeout` (socket idle) option (so the Bun adapter lets Bun pipe the body natively).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRuntime, MUST_RUN, ROOT } from './runtimes.ts';

const SIZE = 1024 * 1024;
const CUT = 300_000;

/** The fake upstream: every response declares (or chunks) 1 MiB; the path says how it ends. */
function startUpstream(): Promise<Server> {
  const bytes = Buffer.alloc(SIZE, 7);
  const server = createServer((request, response) => {
    const socket = response.socket!;
    switch (request.url) {
      case '/whole':
        response.writeHead(200, { 'content-length': String(SIZE) }).end(bytes);
        return;
      case '/short-close': // FIN after 300 000 of 1 MiB declared
        response.writeHead(200, { 'content-length': String(SIZE) });
        response.write(bytes.subarray(0, CUT), () => socket.end());
        return;
      case '/short-reset': // RST after 300 000 of 1 MiB declared
        response.writeHead(200, { 'content-length': String(SIZE) });
        response.write(bytes.subarray(0, CUT), () => socket.resetAndDestroy());
        return;
      case '/chunked-cut': // chunked, closed without the last chunk
        response.writeHead(200);
        response.write(bytes.subarray(0, CUT), () => socket.end());
        return;
      case '/stall': // 64 KiB of 1 MiB, then nothing until the server closes
        response.writeHead(200, { 'content-length': String(SIZE) });
        response.write(bytes.subarray(0, 65_536));
        return;
      default:
        response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function probe(command: string[], origin: string, paths: string[]): Promise<Record<string, string>> {
  const [bin, ...args] = command;
  return new Promise((resolve, reject) => {
    execFile(bin!, [...args, join(ROOT, 'test', 'e2e', 'fetch-probe.mjs'), origin, ...paths], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, string>);
    });
  });
}

let upstream: Server;
let origin: string;
beforeAll(async () => {
  upstream = await startUpstream();
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
afterAll(() => {
  upstream.closeAllConnections();
  upstream.close();
});

const CUTS = ['/short-close', '/short-reset', '/chunked-cut'];

describe.each([
  ['deno', (bin: string) => [bin, 'run', '-A']],
  ['bun', (bin: string) => [bin]],
] as const)('%s fetch', (name, command) => {
  const runtime = findRuntime(name);
  if (!runtime.bin) {
    if (MUST_RUN) it(`${name} is installed`, () => expect.fail(`${name} is missing: looked for ${runtime.lookedFor}`));
    else it.skip(`${name} is not installed (bash scripts/runtimes.sh)`, () => {});
    return;
  }

  it('errors a body cut short of its length, ends a whole one cleanly, and says what a stall does', { timeout: 90_000 }, async () => {
    const paths = ['/whole', ...CUTS, '/stall', ...(name === 'bun' ? ['/stall#timeout=1000'] : [])];
    const outcomes = await probe(command(runtime.bin!), origin, paths);
    expect(outcomes['/whole']).toBe(`ended after ${SIZE} bytes`);
    for (const path of CUTS) expect(outcomes[path], path).toMatch(/^error after \d+ bytes$/);
    // No idle timeout of its own by default: the proxy must bound a stall (Deno: its idle check).
    expect(outcomes['/stall']).toBe('waiting after 65536 bytes');
    if (name === 'bun') expect(outcomes['/stall#timeout=1000']).toBe('error after 65536 bytes');
  });
});
