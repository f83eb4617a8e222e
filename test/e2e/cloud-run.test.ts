/**
 * The Cloud Run entry (`dist/cloud-run-cli.js`, the Dockerfile's CMD) on Node 20 as Cloud Run
 * runs it: listening on 0.0.0.0:$PORT, upstream credentials from the (stand-in) metadata
 * server, JSON log lines with the trace, and a SIGTERM during a 100 MiB pull that drains it.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB, KiB, makeImage, pushImage, type TestImage } from '../integration/harness/images.ts';
import { freePort } from '../integration/harness/process.ts';
import { startRegistry, type Registry } from '../integration/harness/registry.ts';
import { compareLayout, describe as describeRun, skopeoCopyToOci } from '../integration/harness/skopeo.ts';
import { ensureBuilt } from './build.ts';
import { startMetadataServer, type MetadataServer } from './metadata-server.ts';
import { startProxyProcess, type ProxyProcess } from './proxy-process.ts';
import { findRuntime, ROOT } from './runtimes.ts';
import { connectionRefused, statusLine } from './suite.ts';

const TOKEN = 'ya29.e2e-service-account-token';
const PROJECT = 'e2e-project';
const TRACE = '105445aa7843bc8bf206b12000100000';
const node = findRuntime('node20');

describe('Cloud Run entry on Node 20', () => {
  let registry: Registry;
  let image: TestImage;
  let metadata: MetadataServer;
  const cleanups: Array<() => Promise<void>> = [];

  /** Starts the entry with PORT set and no listen flags, as Cloud Run does. */
  async function startEntry(env: NodeJS.ProcessEnv = {}): Promise<{ proxy: ProxyProcess; port: number }> {
    const port = await freePort();
    const proxy = await startProxyProcess(node, {
      script: [`${ROOT}/dist/cloud-run-cli.js`],
      args: [],
      listenArgs: [],
      env: {
        PORT: String(port),
        REGISTRY_PROXY_UPSTREAM: registry.url,
        // A local upstream is not a Google registry: ask for the service account explicitly.
        REGISTRY_PROXY_SERVICE_ACCOUNT: 'true',
        GCE_METADATA_HOST: metadata.host,
        GOOGLE_CLOUD_PROJECT: '',
        ...env,
      },
    });
    cleanups.push(() => proxy.stop());
    return { proxy, port };
  }

  beforeAll(async () => {
    ensureBuilt();
    // The upstream accepts only the service account's token, as Artifact Registry does.
    registry = await startRegistry({ auth: 'htpasswd', username: 'oauth2accesstoken', password: TOKEN });
    cleanups.push(() => registry.stop());
    image = await makeImage({ layers: [64 * KiB, 100 * MiB], seed: 'cloud-run' });
    cleanups.push(() => image.remove());
    await pushImage(image, registry, 'app', { creds: registry.creds! });
    metadata = await startMetadataServer({ token: TOKEN, projectId: PROJECT });
    cleanups.push(() => metadata.stop());
  });

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('listens on 0.0.0.0:$PORT and pulls a private image with the service account token', async () => {
    const { proxy, port } = await startEntry();
    expect(proxy.proc.output()).toContain(`listening on http://0.0.0.0:${port}`);
    const pulled = await skopeoCopyToOci({ host: proxy.host, repository: 'app' }, { timeoutMs: 180_000 });
    cleanups.push(() => pulled.remove());
    expect(pulled.code, describeRun(pulled)).toBe(0);
    expect((await compareLayout(pulled.dir, image)).problems).toEqual([]);
    expect(metadata.requests).toContain('/computeMetadata/v1/instance/service-accounts/default/token');
    expect(await statusLine(proxy.url, 'GET', '/v2/')).toBe('HTTP/1.1 200 OK');
  });

  it('logs JSON lines with severity, httpRequest and the trace, and never the token', async () => {
    const { proxy } = await startEntry();
    const response = await fetch(`${proxy.url}/v2/app/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json', 'x-cloud-trace-context': `${TRACE}/7;o=1` },
    });
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    let line: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !line; i++) {
      line = proxy.proc
        .output()
        .split('\n')
        .filter((text) => text.startsWith('{'))
        .map((text) => JSON.parse(text) as Record<string, unknown>)
        .find((entry) => (entry.httpRequest as { requestUrl?: string } | undefined)?.requestUrl === '/v2/app/manifests/v1');
      if (!line) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(line).toMatchObject({
      severity: 'INFO',
      httpRequest: { requestMethod: 'GET', requestUrl: '/v2/app/manifests/v1', status: 200 },
      'logging.googleapis.com/trace': `projects/${PROJECT}/traces/${TRACE}`,
      'logging.googleapis.com/spanId': '0000000000000007',
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      route: expect.any(String),
      upstreamStatus: 200,
    });
    // Every line of output is JSON for Cloud Logging, and the token appears in none.
    const lines = proxy.proc.output().trim().split('\n');
    for (const text of lines) expect(() => JSON.parse(text), text).not.toThrow();
    expect(proxy.proc.output()).not.toContain(TOKEN);
  });

  it('SIGTERM during a 100 MiB pull: /readyz on the metrics port fails, the pull completes, new connections are refused, exit 0', async () => {
    const { proxy } = await startEntry({ REGISTRY_PROXY_METRICS_PORT: '0' });
    const announced = /metrics, \/healthz and \/readyz on (http:\/\/[^\s"]+)/.exec(proxy.proc.output());
    expect(announced, proxy.proc.output()).not.toBeNull();
    const metricsUrl = announced![1]!.replace('0.0.0.0', '127.0.0.1');
    expect((await fetch(`${metricsUrl}/readyz`)).status).toBe(200);
    const layer = image.layers[1]!;
    const response = await fetch(`${proxy.url}/v2/app/blobs/${layer.digest}`);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const hash = createHash('sha256');
    let received = 0;
    const first = await reader.read();
    hash.update(first.value!);
    received += first.value!.byteLength;

    // The client has read almost nothing: the rest of the 100 MiB is still in flight.
    proxy.proc.child.kill('SIGTERM');
    let ready = 200;
    for (let i = 0; i < 100 && ready !== 503; i++) {
      ready = (await fetch(`${metricsUrl}/readyz`)).status;
      if (ready !== 503) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(ready, '/readyz during the drain').toBe(503);
    let refused = false;
    for (let i = 0; i < 100 && !refused; i++) {
      refused = await connectionRefused(proxy.host);
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(refused, 'new connections refused after SIGTERM').toBe(true);
    expect(received).toBeLessThan(layer.size);

    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      received += value.byteLength;
    }
    expect(received).toBe(layer.size);
    expect(`sha256:${hash.digest('hex')}`).toBe(layer.digest);
    expect(await proxy.proc.exited).toBe(0);
  });
});
