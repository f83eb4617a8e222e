/**
 * Running it in production, through the real server process of each runtime: the metrics
 * listener scraped and parsed, rate limits and the concurrency cap over real sockets, trace
 * context reaching the upstream, readiness flipping when the upstream goes down and during the
 * SIGTERM drain. One proxy process per runtime, in front of its own slow upstream; each test
 * is its own client (`X-Forwarded-For`, trusted here) so the buckets of one never touch another.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition } from '../helpers/prometheus-text.ts';
import { startProxyProcess, type ProxyProcess } from './proxy-process.ts';
import type { Runtime } from './runtimes.ts';
import { SLOW_BLOB_SIZE, SLOW_DIGEST, startSlowUpstream, WAIT_MANIFEST, type SlowUpstream } from './upstreams.ts';

const METRICS_LINE = /metrics, \/healthz and \/readyz on (http:\/\/[^\s,"]+)/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function defineOperationsSuite(runtime: Runtime): void {
  describe('operations: metrics, health, limits, tracing', () => {
    let upstream: SlowUpstream;
    let proxy: ProxyProcess;
    let metricsUrl: string;
    let client = 0;
    /** A fresh client (its own rate-limit buckets). */
    const as = () => ({ 'x-forwarded-for': `198.51.100.${++client}` });

    beforeAll(async () => {
      upstream = await startSlowUpstream();
      proxy = await startProxyProcess(runtime, {
        args: [
          ...['--upstream', upstream.url, '--log', 'off', '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--health-path', '/-'],
          ...['--trust-forwarded', '--rate-limit', '0.01', '--rate-limit-burst', '3'],
          ...['--upstream-concurrency', '1', '--upstream-queue-timeout', '300', '--ready-max-age', '0'],
        ],
      });
      const deadline = Date.now() + 10_000;
      let match = METRICS_LINE.exec(proxy.proc.output());
      while (!match && Date.now() < deadline) {
        await sleep(25);
        match = METRICS_LINE.exec(proxy.proc.output());
      }
      if (!match) throw new Error(`no metrics listener announced:\n${proxy.proc.output()}`);
      metricsUrl = match[1]!;
    });

    afterAll(async () => {
      await proxy?.stop().catch(() => {});
      await upstream?.stop().catch(() => {});
    });

    const scrape = async () => {
      const response = await fetch(`${metricsUrl}/metrics`, { headers: { accept: 'application/openmetrics-text;version=1.0.0' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      return parseExposition(await response.text(), 'openmetrics');
    };
    const route = () => new URL(upstream.url).host;

    it('a scrape of the metrics port counts exactly the requests and body bytes sent', async () => {
      const before = await scrape();
      const labels = { route: route(), endpoint: 'manifest', method: 'GET', code: '200' };
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${proxy.url}${upstream.waitPath(0)}`, { headers: as() });
        expect(Buffer.from(await response.arrayBuffer()).equals(WAIT_MANIFEST)).toBe(true);
      }
      const blob = await fetch(`${proxy.url}${upstream.blobPath(0)}`, { headers: as() });
      const bytes = Buffer.from(await blob.arrayBuffer());
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(SLOW_DIGEST);
      await sleep(50); // the byte counter moves as the body ends
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string>) => after.sum(name, labels) - before.sum(name, labels);
      expect(delta('registry_proxy_requests_total', labels)).toBe(2);
      expect(delta('registry_proxy_requests_total', { endpoint: 'blob', code: '200' })).toBe(1);
      expect(delta('registry_proxy_bytes_sent_total', { route: route(), endpoint: 'manifest' })).toBe(2 * WAIT_MANIFEST.length);
      expect(delta('registry_proxy_bytes_sent_total', { route: route(), endpoint: 'blob' })).toBe(SLOW_BLOB_SIZE);
      expect(delta('registry_proxy_upstream_requests_total', { route: route(), code: '200' })).toBe(3);
      expect(after.value('registry_proxy_inflight_requests')).toBe(0);
      // The metrics are never on the public port.
      expect((await fetch(`${proxy.url}/metrics`)).status).toBe(404);
    });

    it('W3C trace context reaches the upstream with the proxy’s span; X-Request-Id is echoed', async () => {
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const response = await fetch(`${proxy.url}${upstream.waitPath(0)}`, {
        headers: { ...as(), traceparent, tracestate: 'vendor=e2e', 'x-request-id': 'e2e-request-1' },
      });
      await response.arrayBuffer();
      expect(response.headers.get('x-request-id')).toBe('e2e-request-1');
      const sent = upstream.seen.at(-1)!;
      expect(sent.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-(?!00f067aa0ba902b7)[0-9a-f]{16}-01$/);
      expect(sent.tracestate).toBe('vendor=e2e');
    });

    it('rate limit: a burst of 3, then 429 TOOMANYREQUESTS with Retry-After, counted', async () => {
      const before = (await scrape()).sum('registry_proxy_rate_limited_total', { reason: 'requests' });
      const client = as();
      const answers = [];
      for (let i = 0; i < 5; i++) {
        const response = await fetch(`${proxy.url}${upstream.waitPath(0)}`, { headers: client });
        answers.push({ status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() });
      }
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429, 429]);
      // 0.01 requests/s: a whole token is 100 s away (99 if a second passed on a slow box).
      expect(['100', '99']).toContain(answers[3]!.retryAfter);
      expect(JSON.parse(answers[3]!.body).errors[0].code).toBe('TOOMANYREQUESTS');
      expect((await scrape()).sum('registry_proxy_rate_limited_total', { reason: 'requests' }) - before).toBe(2);
    });

    it('concurrency cap of 1: a second request waits 300 ms for the slot, then 503 with Retry-After', async () => {
      const holding = fetch(`${proxy.url}${upstream.waitPath(2000)}`, { headers: as() });
      await sleep(300);
      const started = Date.now();
      const refused = await fetch(`${proxy.url}${upstream.waitPath(0)}`, { headers: as() });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(JSON.parse(await refused.text()).errors[0].code).toBe('UPSTREAM_BUSY');
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect((await holding).status).toBe(200);
    });

    it('/readyz flips to 503 while the upstream is down and back when it returns; /healthz stays 200', async () => {
      const readyz = async (base: string) => (await fetch(base)).status;
      expect(await readyz(`${metricsUrl}/readyz`)).toBe(200);
      expect(await readyz(`${proxy.url}/-/readyz`)).toBe(200);
      upstream.down = true;
      try {
        expect(await readyz(`${metricsUrl}/readyz`)).toBe(503);
        expect(await readyz(`${proxy.url}/-/readyz`)).toBe(503);
        expect(await readyz(`${metricsUrl}/healthz`)).toBe(200);
      } finally {
        upstream.down = false;
      }
      expect(await readyz(`${metricsUrl}/readyz`)).toBe(200);
    });

    it('SIGTERM: /readyz answers 503 on the metrics port while an in-flight pull drains, then the process exits 0', { timeout: 60_000 }, async () => {
      const response = await fetch(`${proxy.url}${upstream.blobPath(2500)}`, { headers: as() });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      await reader.read();
      proxy.proc.child.kill('SIGTERM');
      let status = 0;
      const deadline = Date.now() + 2000;
      while (Date.now() < deadline) {
        status = await fetch(`${metricsUrl}/readyz`).then(
          (answer) => answer.status,
          () => 0,
        );
        if (status === 503) break;
        await sleep(25);
      }
      expect(status, 'readyz during the drain').toBe(503);
      let total = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
      }
      expect(total).toBeGreaterThan(0);
      expect(await proxy.proc.exited).toBe(0);
    });
  });
}
