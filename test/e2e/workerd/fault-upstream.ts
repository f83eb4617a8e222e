/**
 * An upstream that misbehaves on purpose, for the runtimes whose networking differs (workerd):
 * the repository name says how. Blobs are 1 MiB and declare it; 64 KiB arrive first.
 *
 * - `reset`: the connection is reset after 64 KiB
 * - `short`: the connection is closed cleanly after 64 KiB, short of its Content-Length
 * - `stall`: nothing more after 64 KiB, until the proxy gives up
 * - `slow-headers`: the response headers come after 10 s
 * - `status-<n>`: a manifest GET answers status n, with a body typical of it
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const FAULT_BLOB = Buffer.alloc(1024 * 1024, 0).map((_, i) => (i * 7 + (i >> 12)) & 0xff);
export const FAULT_DIGEST = `sha256:${createHash('sha256').update(FAULT_BLOB).digest('hex')}`;
const HEAD_BYTES = 64 * 1024;

/** Status → the body and headers an upstream of that kind sends. */
export const ODD_STATUSES: Record<number, { type: string; body: string; headers?: Record<string, string> }> = {
  404: { type: 'application/json', body: '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v1"}}]}' },
  418: { type: 'text/plain', body: "I'm a teapot" },
  429: { type: 'application/json', body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down","detail":null}]}', headers: { 'retry-after': '7' } },
  500: { type: 'text/html', body: '<html><body>Internal Server Error</body></html>' },
  503: { type: 'text/plain', body: 'upstream connect error or disconnect/reset before headers', headers: { 'retry-after': '3' } },
  599: { type: 'text/plain', body: 'network connect timeout' },
};

export interface FaultUpstream {
  url: string;
  /** Requests whose connection closed before the whole response was sent. */
  closedEarly: string[];
  stop(): Promise<void>;
}

export async function startFaultUpstream(): Promise<FaultUpstream> {
  const closedEarly: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    res.on('close', () => {
      if (!res.writableFinished) closedEarly.push(path);
    });
    if (path === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    const status = /^\/v2\/status-(\d+)\/manifests\/v1$/.exec(path);
    if (status) {
      const odd = ODD_STATUSES[Number(status[1])]!;
      res.writeHead(Number(status[1]), { 'content-type': odd.type, 'content-length': Buffer.byteLength(odd.body), ...odd.headers });
      res.end(odd.body);
      return;
    }
    const blob = /^\/v2\/(reset|short|stall|slow-headers)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (!blob || blob[2] !== FAULT_DIGEST) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":null}]}');
      return;
    }
    const fault = blob[1]!;
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(FAULT_BLOB.length), 'docker-content-digest': FAULT_DIGEST };
    if (fault === 'slow-headers') {
      later(10_000, () => {
        if (res.destroyed) return;
        res.writeHead(200, headers);
        res.end(FAULT_BLOB);
      });
      return;
    }
    res.writeHead(200, headers);
    res.write(FAULT_BLOB.subarray(0, HEAD_BYTES));
    if (fault === 'reset') later(200, () => res.socket?.resetAndDestroy());
    if (fault === 'short') later(200, () => res.socket?.end());
    // stall: nothing more; the proxy's idle timeout (or stop()) ends it.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    closedEarly,
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
