/**
 * The upstreams the end-to-end suite pulls from: real distribution registries (anonymous and
 * token-auth, from the integration harness) holding a test image, and a tiny "slow" upstream
 * whose blobs pause mid-body, to watch streaming, client aborts and draining on shutdown.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KiB, MiB, makeImage, pushImage, type TestImage } from '../integration/harness/images.ts';
import { startRegistry, type Registry } from '../integration/harness/registry.ts';
import { startTokenIssuer, type TokenIssuer } from '../integration/harness/token-issuer.ts';

/** Upstream repository; the proxy runs with `--prefix e2e`, so clients pull `app`. */
export const UPSTREAM_REPO = 'e2e/app';
export const PREFIX = 'e2e';
export const CLIENT_REPO = 'app';

export interface Upstreams {
  image: TestImage;
  registry: Registry;
  issuer: TokenIssuer;
  tokenRegistry: Registry;
  stop(): Promise<void>;
}

/** Both registries, each holding the same image (a small layer and a 3 MiB one). */
export async function startUpstreams(): Promise<Upstreams> {
  const stops: Array<() => Promise<void>> = [];
  try {
    const image = await makeImage({ layers: [200 * KiB, 3 * MiB], seed: 'e2e' });
    stops.push(() => image.remove());
    const registry = await startRegistry({ auth: 'none' });
    stops.push(() => registry.stop());
    await pushImage(image, registry, UPSTREAM_REPO);
    const issuer = await startTokenIssuer({ anonymous: 'pull' });
    stops.push(() => issuer.stop());
    const tokenRegistry = await startRegistry({ auth: 'token', issuer });
    stops.push(() => tokenRegistry.stop());
    await pushImage(image, tokenRegistry, UPSTREAM_REPO, { creds: 'testuser:testpass-s3cret' });
    issuer.reset();
    return { image, registry, issuer, tokenRegistry, stop: () => stopAll(stops) };
  } catch (error) {
    await stopAll(stops);
    throw error;
  }
}

async function stopAll(stops: Array<() => Promise<void>>): Promise<void> {
  for (const stop of stops.reverse()) await stop().catch(() => {});
}

export const SLOW_BLOB_SIZE = MiB;
/** Bytes sent before the pause. */
export const SLOW_HEAD_BYTES = 64 * KiB;
export const SLOW_BLOB = Buffer.alloc(SLOW_BLOB_SIZE, 0).map((_, i) => (i * 31 + (i >> 10)) & 0xff);
export const SLOW_DIGEST = `sha256:${createHash('sha256').update(SLOW_BLOB).digest('hex')}`;

export interface SlowRequest {
  path: string;
  /** The upstream saw its connection close before it had sent the whole body. */
  closedEarly: boolean;
  finished: boolean;
}

/** Headers every request to the slow upstream arrived with (trace propagation checks). */
export interface SeenRequest {
  path: string;
  traceparent: string | undefined;
  tracestate: string | undefined;
}

/** The small manifest `/v2/wait-<ms>/manifests/<ref>` answers with. */
export const WAIT_MANIFEST = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}');

export interface SlowUpstream {
  url: string;
  requests: SlowRequest[];
  seen: SeenRequest[];
  /** While true, every connection is dropped without an answer (an upstream that went down). */
  down: boolean;
  /** `/v2/wait-<ms>/manifests/v1`: the response headers come after `ms`. */
  waitPath(ms: number): string;
  /** `/v2/stall-<ms>/blobs/<digest>`: 64 KiB, a pause of `ms`, then the rest of 1 MiB. */
  blobPath(stallMs: number): string;
  stop(): Promise<void>;
}

export async function startSlowUpstream(): Promise<SlowUpstream> {
  const requests: SlowRequest[] = [];
  const seen: SeenRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const state = { down: false };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (state.down) {
      req.socket.destroy();
      return;
    }
    seen.push({ path, traceparent: req.headers.traceparent as string | undefined, tracestate: req.headers.tracestate as string | undefined });
    const wait = /^\/v2\/wait-(\d+)\/manifests\/[^/]+$/.exec(path);
    if (wait) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(WAIT_MANIFEST.length) });
        res.end(req.method === 'HEAD' ? undefined : WAIT_MANIFEST);
      }, Number(wait[1]));
      timers.add(timer);
      return;
    }
    if (path === '/v2/' || path === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    const match = /^\/v2\/stall-(\d+)\/blobs\/sha256:[0-9a-f]{64}$/.exec(path);
    if (!match) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown","detail":null}]}');
      return;
    }
    const record: SlowRequest = { path, closedEarly: false, finished: false };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.closedEarly = true;
    });
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(SLOW_BLOB_SIZE),
      'docker-content-digest': SLOW_DIGEST,
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    res.write(SLOW_BLOB.subarray(0, SLOW_HEAD_BYTES));
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (res.destroyed) return;
      res.end(SLOW_BLOB.subarray(SLOW_HEAD_BYTES), () => (record.finished = true));
    }, Number(match[1]));
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    seen,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    waitPath: (ms) => `/v2/wait-${ms}/manifests/v1`,
    blobPath: (stallMs) => `/v2/stall-${stallMs}/blobs/${SLOW_DIGEST}`,
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
