#!/usr/bin/env node
// What metrics plus limits cost on the manifest GET path: CPU per request of the proxy's handler
// with everything off (metrics, rate limits, concurrency cap, tracing) against everything on,
// in rounds that alternate so load on a shared box hits both alike. The upstream is a small
// node:http registry in a child process (its CPU is not counted); the proxy fetches from it with
// the runtime's fetch and the handler is called with Requests directly, so the figure is the
// proxy's own work without the inbound HTTP server's (which adds the same to both sides: the
// ratio printed here is the stricter one).
//
//   npm run build && node bench/metrics-overhead.mjs            # ratio, exit 1 when > 1.10
//   REQUESTS=5000 ROUNDS=7 CONCURRENCY=32 node bench/metrics-overhead.mjs
/* global Request */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REQUESTS = Number(process.env.REQUESTS || 4000);
const ROUNDS = Number(process.env.ROUNDS || 9);
const CONCURRENCY = Number(process.env.CONCURRENCY || 32);
const LIMIT = Number(process.env.MAX_RATIO || 1.1);

const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1469 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${'b'.repeat(64)}`, size: 3623807 }],
});

if (process.argv[2] === 'upstream') {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    if (req.url === '/v2/' || req.url === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      return res.end('{}');
    }
    res.writeHead(200, {
      'content-type': 'application/vnd.oci.image.manifest.v1+json',
      'content-length': Buffer.byteLength(MANIFEST),
      'docker-content-digest': `sha256:${'c'.repeat(64)}`,
      'docker-distribution-api-version': 'registry/2.0',
    });
    res.end(req.method === 'HEAD' ? undefined : MANIFEST);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('disconnect', () => process.exit(0));
} else {
  const dist = new URL('../dist/index.js', import.meta.url);
  if (!existsSync(fileURLToPath(dist))) {
    console.error('bench/metrics-overhead: dist/ is missing; run npm run build first');
    process.exit(2);
  }
  const { createRegistryProxy } = await import(dist.href);
  const child = fork(fileURLToPath(import.meta.url), ['upstream'], { stdio: 'inherit' });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const upstream = `http://127.0.0.1:${port}`;

  const configurations = {
    off: { upstream, metrics: false, tracing: false },
    on: {
      upstream,
      metrics: true,
      tracing: true,
      // Limits that are checked on every request but never bite: the cost of the bookkeeping.
      rateLimits: { requests: { perSecond: 1e9 }, blobBytes: { perSecond: 1e12 } },
      concurrency: { limit: 10_000, queueTimeout: 1000 },
    },
  };
  const proxies = Object.fromEntries(Object.entries(configurations).map(([name, options]) => [name, createRegistryProxy(options)]));
  const client = { clientAddress: '127.0.0.1' };
  const url = 'http://proxy.bench/v2/app/manifests/latest';
  const headers = { accept: 'application/vnd.oci.image.manifest.v1+json' };

  async function run(proxy, count) {
    let next = 0;
    const worker = async () => {
      while (next++ < count) {
        const response = await proxy(new Request(url, { headers }), client);
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        await response.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }

  /** CPU microseconds per request of one round. */
  async function measure(name) {
    const before = process.cpuUsage();
    await run(proxies[name], REQUESTS);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / REQUESTS;
  }

  for (const name of Object.keys(proxies)) await run(proxies[name], 1000); // warm-up: JIT, keep-alive pool
  // Each round measures both, back to back: the ratio of a round is what load drift least
  // disturbs, so the figure is the median of the per-round ratios.
  const samples = { off: [], on: [] };
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const name of order) samples[name].push(await measure(name));
    ratios.push(samples.on.at(-1) / samples.off.at(-1));
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const off = median(samples.off);
  const on = median(samples.on);
  const ratio = median(ratios);
  console.log(`manifest GET, CPU per request (median of ${ROUNDS} rounds × ${REQUESTS} requests, ${CONCURRENCY} concurrent, ${process.version}):`);
  console.log(`  metrics + limits + tracing off: ${off.toFixed(1)} µs`);
  console.log(`  metrics + limits + tracing on:  ${on.toFixed(1)} µs`);
  console.log(`  ratio: ${ratio.toFixed(3)} (median of the rounds' ratios; goal ≤ ${LIMIT.toFixed(2)}); rounds: ${ratios.map((r) => r.toFixed(2)).join(' ')}`);
  child.disconnect();
  process.exit(ratio <= LIMIT ? 0 : 1);
}
