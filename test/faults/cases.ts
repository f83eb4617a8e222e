/**
 * The fault cases, one table for every runtime. Each says what a misbehaving client or upstream
 * does and what the client must see; suite.ts adds, after every case, that the process is alive
 * and serves the next pull whole, that stderr holds nothing unexpected, and that no credential
 * reached the stranger host. `(defect N)` names the issue-9 defect a case was written for.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { ProxyProcess } from '../e2e/proxy-process.ts';
import {
  abandonedPush,
  BIG_BLOB,
  BIG_DIGEST,
  download,
  MiB,
  OK_BLOB,
  OK_DIGEST,
  ociCode,
  PARTIAL_DIGEST,
  PARTIAL_SIZE,
  rawExchange,
  SMALL_MANIFEST_SIZE,
  sha256,
  type Download,
  type FakeRegistry,
  type FakeServer,
} from './fixtures.ts';
import { authorization, method, path, query } from './arbitraries.ts';
import type { TargetName } from './targets.ts';

export interface CaseEnv {
  /** Upstream credentials held by the proxy; routes `main/…` (redirects followed) and `hang/…` (a realm that never answers). */
  a: ProxyProcess;
  /** No credentials: clients do the token dance through its `/_token`; push allowed. */
  b: ProxyProcess;
  registry: FakeRegistry;
  auth: FakeServer & { issued: number };
  stranger: FakeServer;
  target: TargetName;
  /** A token for proxy B's clients, fetched with the client's own Basic credentials. */
  clientToken(): Promise<string>;
}

export interface FaultCase {
  name: string;
  run(env: CaseEnv): Promise<void>;
  /** stderr of the proxies must show this during the case (a failure is reported, not silent). */
  logs?: RegExp;
  skip?: TargetName[];
}

const blob = (name: string, digest = OK_DIGEST) => `/v2/main/${name}/blobs/${digest}`;

function expectOci(response: Download | { status: number; body: string }, status: number | number[], code?: string): void {
  const statuses = Array.isArray(status) ? status : [status];
  expect(statuses, `status ${response.status}: ${response.body.toString().slice(0, 300)}`).toContain(response.status);
  const found = ociCode(response.body);
  expect(found, `an OCI error body: ${response.body.toString().slice(0, 300)}`).toBeDefined();
  if (code) expect(found).toBe(code);
}

/** The download, or `undefined` when the connection was reset before the headers. */
async function downloadUnlessReset(url: string): Promise<Download | undefined> {
  try {
    return await download(url);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code, String(error)).toBe('ECONNRESET');
    return undefined;
  }
}

function expectIncomplete(response: Download, size: number): void {
  expect(response.complete, `${response.body.length} of ${size} bytes, ended as if complete`).toBe(false);
  expect(response.body.length).toBeLessThan(size);
}

/**
 * The client must see that the body broke off: a 200 whose body ends without its framing, or a
 * connection reset before the headers (Bun holds the headers of a streamed body until its
 * first bytes are flushed) — never a clean end short of the blob.
 */
async function expectCut(url: string, size: number): Promise<void> {
  const response = await downloadUnlessReset(url);
  if (response === undefined) return;
  expect(response.status).toBe(200);
  expectIncomplete(response, size);
}

/**
 * A small body the proxy may read whole before answering (a manifest): an OCI error (502,
 * 504), or a transfer that visibly breaks off as for a blob — never a clean short one.
 */
async function expectNeverWhole(url: string, size: number): Promise<void> {
  const response = await downloadUnlessReset(url);
  if (response === undefined) return;
  if (response.status === 200) expectIncomplete(response, size);
  else expectOci(response, [502, 504]);
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}

const request = (host: string, target: string, headers = '', method = 'GET') =>
  `${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${headers}\r\n`;

export const FAULT_CASES: FaultCase[] = [
  // ---- client side ----
  {
    name: 'client aborts mid-download: the upstream transfer is released',
    async run({ a, registry }) {
      const before = registry.closedEarly.get('big') ?? 0;
      const response = await download(`${a.url}${blob('big', BIG_DIGEST)}`, { abortAfter: MiB });
      expect(response.status).toBe(200);
      expect(await until(() => (registry.closedEarly.get('big') ?? 0) > before, 10_000), 'upstream connection closed').toBe(true);
    },
  },
  {
    name: 'client leaves mid-push (defect 2)',
    async run({ b, registry, clientToken }) {
      const authorization = `Bearer ${await clientToken()}`;
      const started = await download(`${b.url}/v2/upload/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0', authorization } });
      expect(started.status, started.body.toString()).toBe(202);
      const location = new URL(String(started.headers.location), b.url);
      expect(location.pathname).toMatch(/^\/v2\/upload\/blobs\/uploads\/u\d+$/);
      const id = location.pathname.split('/').pop()!;
      await abandonedPush(location.href, 10_000_000, 100_000, authorization);
      expect(await until(() => registry.uploads.get(id)?.aborted === true, 10_000), 'the upstream push was aborted too').toBe(true);
    },
  },
  {
    name: 'slow reader: a client pausing longer than the idle timeout still gets the whole blob (defect 8)',
    async run({ a }) {
      const response = await download(`${a.url}${blob('big', BIG_DIGEST)}`, { pauseAfter: MiB, pauseMs: 3000, timeoutMs: 40_000 });
      expect(response.status).toBe(200);
      expect(response.complete, `${response.body.length} of ${BIG_BLOB.length} bytes`).toBe(true);
      expect(sha256(response.body)).toBe(BIG_DIGEST);
    },
  },
  {
    name: 'slow request headers are served normally',
    async run({ a }) {
      const response = await rawExchange(a.host, request(a.host, blob('ok-slow')), { chunkDelayMs: 15 });
      expect(response.status).toBe(200);
      expect(response.body.length).toBe(OK_BLOB.length);
    },
  },
  {
    name: '100 KB of request headers are refused, nothing else',
    async run({ a }) {
      const response = await rawExchange(a.host, request(a.host, blob('ok-headers'), `x-big: ${'a'.repeat(100_000)}\r\n`));
      // The runtime's HTTP server answers this one (or closes): never a 2xx or a 5xx.
      expect([0, 400, 413, 431], response.head).toContain(response.status);
    },
  },
  {
    name: 'absolute-form request target is served (defect 7)',
    async run({ a }) {
      const response = await rawExchange(a.host, request(a.host, `http://${a.host}${blob('ok-absolute')}`));
      expect(response.status, response.head + response.body.slice(0, 300)).toBe(200);
      expect(response.body.length).toBe(OK_BLOB.length);
    },
  },
  {
    name: 'OPTIONS * gets a 4xx OCI answer, not a 500 (defect 7)',
    async run({ a }) {
      const response = await rawExchange(a.host, request(a.host, '*', '', 'OPTIONS'));
      // Bun's HTTP server refuses it itself, with an empty 400: the proxy never sees it.
      if (response.body === '' && response.status === 400) return;
      expectOci(response, [400, 404, 405]);
    },
  },
  {
    name: 'Host "a b" is a 400 with an OCI body (defect 7)',
    async run({ a }) {
      const response = await rawExchange(a.host, `GET /v2/ HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n`);
      expectOci(response, 400);
    },
  },
  {
    name: 'Host "[::1" is a 400 with an OCI body (defect 7)',
    async run({ a }) {
      const response = await rawExchange(a.host, `GET /v2/ HTTP/1.1\r\nHost: [::1\r\nConnection: close\r\n\r\n`);
      expectOci(response, 400);
    },
  },
  {
    name: 'unusual methods get a 4xx OCI answer',
    async run({ a }) {
      for (const method of ['PROPFIND', 'TRACE', 'PURGE']) {
        const response = await rawExchange(a.host, request(a.host, '/v2/main/ok/manifests/latest', '', method));
        expect(response.status, `${method}: ${response.head}`).toBeGreaterThanOrEqual(400);
        expect(response.status, `${method}: ${response.head}`).toBeLessThan(500);
      }
    },
  },

  // ---- upstream side ----
  {
    name: 'upstream resets the connection before headers: 502',
    async run({ a }) {
      expectOci(await download(`${a.url}${blob('reset')}`), 502);
    },
  },
  {
    name: 'upstream closes without headers: 502',
    async run({ a }) {
      expectOci(await download(`${a.url}${blob('nohead')}`), 502);
    },
  },
  {
    name: 'upstream sends a broken status line: 502',
    async run({ a }) {
      expectOci(await download(`${a.url}${blob('garbage')}`), 502);
    },
  },
  {
    name: 'upstream headers never come: 504 after the headers timeout',
    async run({ a }) {
      expectOci(await download(`${a.url}${blob('hang')}`), 504, 'UPSTREAM_TIMEOUT');
    },
  },
  {
    name: 'upstream body stalls: the client sees the transfer break, and it is logged (defects 4, 9)',
    logs: /upstream body/i,
    async run({ a }) {
      await expectCut(`${a.url}${blob('stall', PARTIAL_DIGEST)}`, PARTIAL_SIZE);
    },
  },
  {
    name: 'upstream resets mid-body: the client sees the transfer break, and it is logged (defects 4, 9)',
    logs: /upstream body/i,
    async run({ a }) {
      await expectCut(`${a.url}${blob('cut', PARTIAL_DIGEST)}`, PARTIAL_SIZE);
    },
  },
  {
    name: 'upstream body ends short of its Content-Length: the client sees the transfer break (defects 4, 9)',
    logs: /upstream body/i,
    async run({ a }) {
      await expectCut(`${a.url}${blob('short', PARTIAL_DIGEST)}`, PARTIAL_SIZE);
    },
  },
  {
    name: 'upstream manifest ends short of its Content-Length: never a whole manifest to the client, and it is logged',
    logs: /upstream('s)? body/i,
    async run({ a }) {
      await expectNeverWhole(`${a.url}/v2/main/mshort/manifests/v1`, SMALL_MANIFEST_SIZE);
    },
  },
  {
    name: 'upstream manifest stalls: the client hears within the idle timeout, and it is logged',
    logs: /upstream('s)? body/i,
    async run({ a }) {
      await expectNeverWhole(`${a.url}/v2/main/mstall/manifests/v1`, SMALL_MANIFEST_SIZE);
    },
  },
  {
    name: 'upstream body longer than its Content-Length: the framed bytes, and the pool is not poisoned',
    async run({ a }) {
      for (let i = 0; i < 2; i++) {
        const response = await download(`${a.url}${blob('long')}`);
        expect(response.status).toBe(200);
        expect(response.body.length).toBe(1000);
        expect(sha256(response.body)).toBe(response.headers['docker-content-digest']);
        const next = await download(`${a.url}${blob(`ok-after-long-${i}`)}`);
        expect(next.status).toBe(200);
        expect(sha256(next.body)).toBe(OK_DIGEST);
      }
    },
  },
  {
    name: 'upstream 103 Early Hints, then 200: the blob',
    async run({ a }) {
      const response = await download(`${a.url}${blob('early')}`);
      expect(response.status).toBe(200);
      expect(sha256(response.body)).toBe(OK_DIGEST);
    },
  },
  {
    name: 'upstream status 999: 502 (defect 3)',
    async run({ a }) {
      expectOci(await download(`${a.url}${blob('s999')}`), 502);
    },
  },
  {
    name: 'upstream status 600: 502 (defect 3)',
    async run({ a }) {
      expectOci(await download(`${a.url}${blob('s600')}`), 502);
    },
  },
  {
    name: 'upstream 429 with Retry-After reaches the client as it is',
    async run({ a }) {
      const response = await download(`${a.url}${blob('ratelimit')}`);
      expectOci(response, 429, 'TOOMANYREQUESTS');
      expect(response.headers['retry-after']).toBe('7');
    },
  },
  {
    name: 'upstream 503 with Retry-After reaches the client as it is',
    async run({ a }) {
      const response = await download(`${a.url}${blob('unavailable')}`);
      expectOci(response, 503);
      expect(response.headers['retry-after']).toBe('3');
    },
  },
  {
    name: 'redirect to a host that challenges: 502, nothing learned, no credential sent there (defect 1)',
    async run({ a, b, auth, stranger, clientToken }) {
      for (let i = 0; i < 2; i++) {
        const response = await download(`${a.url}${blob('redirect')}`);
        expectOci(response, 502);
        expect(response.body.toString()).toContain('401');
      }
      // Proxy B (client dance) follows too: the stranger's realm must not replace the upstream's.
      const token = await clientToken();
      const viaB = await download(`${b.url}/v2/redirect/blobs/${OK_DIGEST}`, { headers: { authorization: `Bearer ${token}` } });
      expectOci(viaB, 502);
      expect(String(viaB.headers['www-authenticate'] ?? '')).not.toContain(stranger.origin);
      const before = auth.requests.length;
      await clientToken();
      expect(auth.requests.length, 'the next client token request went to the upstream realm').toBe(before + 1);
      expect(stranger.requests.map((r) => r.url)).not.toContain('/steal');
    },
  },
  {
    name: 'redirect loop: 502',
    async run({ a }) {
      expectOci(await download(`${a.url}${blob('loop')}`), 502);
    },
  },
  {
    name: 'token endpoint that hangs: 504',
    async run({ a }) {
      expectOci(await download(`${a.url}/v2/hang/ok/blobs/${OK_DIGEST}`), 504);
    },
  },
  {
    name: 'huge chunked error body: the status with an OCI body, not buffered (defect 6)',
    async run({ a, registry }) {
      const response = await download(`${a.url}${blob('hugeerr')}`);
      expectOci(response, 404);
      expect(registry.hugeSent, 'the proxy stopped reading').toBeLessThan(10 * MiB);
    },
  },
  {
    name: 'small chunked error body: rewritten, names mapped back',
    async run({ a }) {
      const response = await download(`${a.url}${blob('chunkerr')}`);
      expectOci(response, 404, 'BLOB_UNKNOWN');
      expect(JSON.parse(response.body.toString()).errors[0].detail).toEqual({ name: 'main/chunkerr' });
    },
  },
  {
    name: 'error body that stalls: an OCI error within the idle timeout (defect 6)',
    async run({ a }) {
      const started = Date.now();
      const response = await download(`${a.url}${blob('stallerr')}`, { timeoutMs: 10_000 });
      expectOci(response, [502, 504]);
      expect(Date.now() - started).toBeLessThan(8000);
    },
  },
  {
    name: 'huge chunked tag list: 502, not buffered (defect 6)',
    async run({ a, registry }) {
      const before = registry.hugeSent;
      const response = await download(`${a.url}/v2/main/hugetags/tags/list`);
      expectOci(response, 502);
      expect(registry.hugeSent - before, 'the proxy stopped reading').toBeLessThan(24 * MiB);
    },
  },
  {
    name: 'fuzzed requests over the socket: never a 500, every error in OCI form (fixed seed)',
    async run({ a, b }) {
      const samples = fc.sample(fc.tuple(fc.boolean(), method, path, query, authorization), { seed: 20261203, numRuns: 150 });
      for (const [viaA, verb, target, search, auth] of samples) {
        const proxy = viaA ? a : b;
        let response: Download;
        try {
          response = await download(`${proxy.url}${target}${search}`, { method: verb, headers: auth === undefined ? {} : { authorization: auth } });
        } catch (error) {
          // Node's client refuses some inputs itself (bad characters in a header): not sent, nothing to check.
          if (/Invalid|ERR_/.test(String((error as NodeJS.ErrnoException).code ?? error))) continue;
          throw error;
        }
        const where = `${verb} ${target}${search} → ${response.status}: ${response.body.toString().slice(0, 200)}`;
        if (response.status >= 500) expect([502, 504], where).toContain(response.status);
        // The runtime's own HTTP server may refuse a request before the proxy sees it (an empty 400).
        if (response.status >= 400 && verb !== 'HEAD' && response.body.length > 0) expect(ociCode(response.body), where).toBeDefined();
      }
    },
  },
];
