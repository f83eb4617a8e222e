/**
 * The fault suite: one table of cases (cases.ts), run against the real server process of every
 * runtime over real sockets, in front of fake upstreams that misbehave on purpose. After every
 * case: the process is alive and serves the next pull whole; nothing unexpected reached stderr
 * (no unhandled rejection, uncaught error or MaxListeners warning); and no credential ever
 * reached the stranger host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../e2e/build.ts';
import { startProxyProcess, type ProxyProcess } from '../e2e/proxy-process.ts';
import { MUST_RUN } from '../e2e/runtimes.ts';
import { spawnTracked } from '../integration/harness/process.ts';
import { FAULT_CASES, type CaseEnv } from './cases.ts';
import { basic, CLIENT_CREDENTIALS, download, OK_BLOB, OK_DIGEST, PROXY_CREDENTIALS, SECRETS, sha256, startAuthServer, startRegistry, startStranger } from './fixtures.ts';
import { findTarget, type Target, type TargetName } from './targets.ts';

/** Timeouts the proxies run with: short, so stalls are found fast; generous against a loaded box. */
export const HEADERS_TIMEOUT_MS = 1500;
export const IDLE_TIMEOUT_MS = 1000;

/**
 * On Bun the upstream body is piped natively (adapters/bun-fetch.ts): when it breaks off, Bun.serve
 * itself prints the error (a timeout, a reset socket), and the proxy, which no longer sees the
 * body, does not. That report counts as the failure's.
 */
const BUN_BODY_REPORT = /TimeoutError|ECONNRESET|socket connection was closed/;

function reportOf(logs: RegExp, target: string): RegExp {
  return target === 'bun' ? new RegExp(`${logs.source}|${BUN_BODY_REPORT.source}`, logs.flags) : logs;
}

/** What is never acceptable on stderr, whatever the case. */
const FORBIDDEN = /unhandled|uncaught|MaxListeners|memory leak/i;

/**
 * Lines a proxy may write to stderr: its own (`registry-proxy: …`), Cloud Logging JSON, and
 * Deno's one notice about `request.signal` semantics. With `runtimeReports`, when an upstream
 * body fails on purpose, Deno.serve and Bun.serve also print the error of the response body
 * (stack, code frame, cause) that lib has reported already: then only the forbidden words count.
 */
function unexpectedLines(stderr: string, runtimeReports: boolean): string[] {
  return stderr.split('\n').filter((line) => {
    if (line.trim() === '') return false;
    if (FORBIDDEN.test(line)) return true;
    if (runtimeReports || line.startsWith('registry-proxy: ') || line.startsWith('Deno.serve: request.signal aborts')) return false;
    if (line.startsWith('{')) {
      try {
        JSON.parse(line);
        return false;
      } catch {
        // not a log entry
      }
    }
    return true;
  });
}

interface Watched {
  proxy: ProxyProcess;
  stderr(): string;
}

async function startWatched(target: Target, args: string[]): Promise<Watched> {
  const proxy = await startProxyProcess(target.runtime, {
    args: [],
    script: target.command(['--port', '0', '--host', '127.0.0.1', ...args]),
    timeoutMs: 60_000,
  });
  let stderr = '';
  proxy.proc.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return { proxy, stderr: () => stderr };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function addFaultTests(name: TargetName): void {
  const target = findTarget(name);
  describe(`fault suite on ${name}`, () => {
    if (!target.runtime.bin) {
      if (MUST_RUN) it(`${name} is installed (CI=true never skips a runtime)`, () => expect.fail(`looked for ${target.runtime.lookedFor}`));
      else it.skip(`${name} is not installed (${target.runtime.lookedFor})`, () => {});
      return;
    }
    defineFaultSuite(target);
  });
}

function defineFaultSuite(target: Target): void {
  const env = {} as CaseEnv;
  let a: Watched;
  let b: Watched;
  const stops: Array<() => Promise<void>> = [];
  let liveness = 0;
  let argsA: string[];
  let argsB: string[];

  /** A crashed proxy fails its case, and is replaced so the next case starts clean. */
  async function restartDead(): Promise<void> {
    if (a.proxy.proc.child.exitCode !== null || a.proxy.proc.child.signalCode !== null) {
      a = await startWatched(target, argsA);
      env.a = a.proxy;
    }
    if (b.proxy.proc.child.exitCode !== null || b.proxy.proc.child.signalCode !== null) {
      b = await startWatched(target, argsB);
      env.b = b.proxy;
    }
  }

  beforeAll(async () => {
    if (target.built) ensureBuilt();
    const auth = await startAuthServer();
    stops.push(auth.stop);
    const stranger = await startStranger();
    stops.push(stranger.stop);
    const registry = await startRegistry({ realm: `${auth.url}/token`, stranger: stranger.url });
    stops.push(registry.stop);
    const hangingRealm = await startRegistry({ realm: `${auth.url}/hang-token`, stranger: stranger.url });
    stops.push(hangingRealm.stop);
    const timeouts = ['--timeout', String(HEADERS_TIMEOUT_MS), '--idle-timeout', String(IDLE_TIMEOUT_MS)];
    // A: the proxy holds upstream credentials (its own token dance) and follows redirects.
    const routes = [
      { upstream: registry.url, pathPrefix: 'main', credentials: PROXY_CREDENTIALS, redirects: 'follow' },
      { upstream: hangingRealm.url, pathPrefix: 'hang', credentials: PROXY_CREDENTIALS },
    ];
    argsA = ['--upstreams', JSON.stringify(routes), ...timeouts];
    // B: clients do the token dance with their own credentials through /_token; push allowed.
    argsB = ['--upstream', registry.url, '--redirects', 'follow', '--allow-push', ...timeouts];
    [a, b] = await Promise.all([startWatched(target, argsA), startWatched(target, argsB)]);
    stops.push(
      () => a.proxy.stop(),
      () => b.proxy.stop(),
    );
    Object.assign(env, { a: a.proxy, b: b.proxy, registry, auth, stranger, target: target.name });
    env.clientToken = async () => {
      const response = await fetch(`${b.proxy.url}/_token?service=fake-registry&scope=repository:ok:pull`, {
        headers: { authorization: basic(CLIENT_CREDENTIALS) },
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as { token: string }).token;
    };
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  /** The next pull through both proxies arrives whole. */
  async function expectServing(): Promise<void> {
    liveness++;
    // A new repository each time: a fresh upstream token, so a hijacked realm would show.
    const viaA = await download(`${a.proxy.url}/v2/main/ok-${liveness}/blobs/${OK_DIGEST}`);
    expect(viaA.status, 'proxy A serves the next pull').toBe(200);
    expect(viaA.complete && sha256(viaA.body) === OK_DIGEST, 'proxy A: the next pull arrives whole').toBe(true);
    const token = await env.clientToken();
    const viaB = await download(`${b.proxy.url}/v2/ok-${liveness}/blobs/${OK_DIGEST}`, { headers: { authorization: `Bearer ${token}` } });
    expect(viaB.status, 'proxy B serves the next pull').toBe(200);
    expect(viaB.body.length).toBe(OK_BLOB.length);
  }

  for (const fault of FAULT_CASES) {
    if (fault.skip?.includes(target.name)) continue;
    it(fault.name, { timeout: 60_000 }, async () => {
      await restartDead();
      const from = { a: a.stderr().length, b: b.stderr().length, stranger: env.stranger.requests.length };
      try {
        await fault.run(env);
        await sleep(200); // a crash from a dangling promise comes a moment later
      } finally {
        for (const [label, watched] of [['A', a], ['B', b]] as const) {
          expect(watched.proxy.proc.child.exitCode, `proxy ${label} is alive:\n${watched.stderr().slice(-3000)}`).toBeNull();
        }
      }
      await expectServing();
      for (const [label, watched] of [['A', a], ['B', b]] as const) {
        expect(watched.proxy.proc.child.exitCode, `proxy ${label} is alive:\n${watched.stderr().slice(-3000)}`).toBeNull();
        const stderr = watched.stderr().slice(from[label === 'A' ? 'a' : 'b']);
        expect(unexpectedLines(stderr, fault.logs !== undefined), `proxy ${label}: nothing unexpected on stderr`).toEqual([]);
      }
      const report = fault.logs && reportOf(fault.logs, target.name);
      if (report) {
        const logged = () => report.test(a.stderr().slice(from.a) + b.stderr().slice(from.b));
        for (let i = 0; i < 40 && !logged(); i++) await sleep(50);
        expect(a.stderr().slice(from.a) + b.stderr().slice(from.b), 'the failure is reported on stderr').toMatch(report);
      }
      for (const request of env.stranger.requests.slice(from.stranger)) {
        const seen = JSON.stringify(request);
        expect(request.headers.authorization, `no Authorization to the stranger: ${seen}`).toBeUndefined();
        for (const secret of SECRETS) expect(seen, 'no credential reaches the stranger').not.toContain(secret);
      }
    });
  }

  it('credentials reached the upstream and its announced realm only', () => {
    const proxyBasic = basic(PROXY_CREDENTIALS);
    expect(env.auth.requests.some((request) => request.headers.authorization === proxyBasic)).toBe(true);
    expect(env.auth.requests.some((request) => request.headers.authorization === basic(CLIENT_CREDENTIALS))).toBe(true);
    expect(env.stranger.requests.filter((request) => request.headers.authorization !== undefined)).toEqual([]);
  });

  it('a listen address that cannot be used is one line naming the option, exit 2', { timeout: 60_000 }, async () => {
    for (const host of ['not-a-host.invalid', '192.0.2.1']) {
      const proc = spawnTracked(target.runtime.bin!, target.command(['--port', '0', '--host', host, '--upstream', env.registry.url]));
      const code = await Promise.race([proc.exited, sleep(30_000).then(() => 'hung')]);
      await proc.stop(1000);
      const lines = proc.output().trim().split('\n');
      expect(code, proc.output()).toBe(2);
      expect(lines, proc.output()).toHaveLength(1);
      expect(lines[0]).toMatch(/--host/);
    }
  });
}
