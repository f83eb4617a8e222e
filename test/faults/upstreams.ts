/**
 * Fake upstreams on loopback that misbehave on purpose, for the fault suite. One registry
 * (`node:http`, with raw socket writes where HTTP itself must be broken), its token server (the
 * realm the registry announces), and a stranger: another origin that redirect targets and
 * foreign challenges point at, recording everything it receives so the suite can prove no
 * credential ever reaches it.
 *
 * The registry's behaviour is chosen by the repository name (the upstream's name, after the
 * proxy removed its path prefix): `ok…`, `big`, `stall`, `cut`, `s999`… (see `BEHAVIOURS`).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const KiB = 1024;
export const MiB = 1024 * KiB;

function pattern(size: number, seed: number): Buffer {
  const buffer = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buffer[i] = (i * 31 + (i >> 12) + seed) & 0xff;
  return buffer;
}
export const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The blob every liveness check pulls whole. */
export const OK_BLOB = pattern(256 * KiB, 1);
export const OK_DIGEST = sha256(OK_BLOB);
/** Larger than every socket and stream buffer between the fake upstream and a paused client. */
export const BIG_BLOB = pattern(32 * MiB, 2);
export const BIG_DIGEST = sha256(BIG_BLOB);
/** What `stall`, `cut` and `short` announce, of which they send only a part. */
export const PARTIAL_SIZE = MiB;
export const PARTIAL_DIGEST = sha256(pattern(PARTIAL_SIZE, 3));
const PARTIAL_BLOB = pattern(PARTIAL_SIZE, 3);
/** What `mshort` and `mstall` announce as a manifest, of which they send half. */
export const SMALL_MANIFEST_SIZE = 4 * KiB;

/** The proxy's own upstream credentials, and a client's (for the client token dance). */
export const PROXY_CREDENTIALS = { username: 'proxy-user', password: 'proxy-s3cret-0000' };
export const CLIENT_CREDENTIALS = { username: 'client-user', password: 'client-s3cret-1111' };
export const basic = ({ username, password }: { username: string; password: string }) =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
/** Every string that would betray a credential, in any header, URL or body. */
export const SECRETS = [
  PROXY_CREDENTIALS.password,
  CLIENT_CREDENTIALS.password,
  basic(PROXY_CREDENTIALS).slice(6),
  basic(CLIENT_CREDENTIALS).slice(6),
  'tok-',
];

export interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FakeServer {
  url: string;
  origin: string;
  requests: Recorded[];
  stop(): Promise<void>;
}

async function listen(server: Server, sockets: Set<Socket>): Promise<{ url: string; stop(): Promise<void> }> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function record(requests: Recorded[], req: IncomingMessage, body = ''): void {
  requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers }, body });
}

/** Writes a buffer respecting backpressure; resolves false when the connection went away first. */
async function writeAll(res: ServerResponse, bytes: Buffer, chunk = 64 * KiB): Promise<boolean> {
  for (let offset = 0; offset < bytes.length; offset += chunk) {
    if (res.destroyed) return false;
    if (!res.write(bytes.subarray(offset, offset + chunk))) {
      // One listener pair per wait, both removed after: a long body must not pile them up.
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  return !res.destroyed;
}

function ociError(res: ServerResponse, status: number, code: string, extra: Record<string, string> = {}): void {
  const body = JSON.stringify({ errors: [{ code, message: code.toLowerCase(), detail: null }] });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

/** The token server the registry announces as its realm. `/hang-token` never answers. */
export async function startAuthServer(): Promise<FakeServer & { issued: number }> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  let issued = 0;
  const server = createServer((req, res) => {
    record(requests, req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/hang-token') return; // never answers
    if (path !== '/token') return ociError(res, 404, 'NOT_FOUND');
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token: `tok-${issued}`, expires_in: 300 }));
  });
  const listening = await listen(server, sockets);
  return {
    ...listening,
    origin: listening.url,
    requests,
    get issued() {
      return issued;
    },
  };
}

/** Another origin: it challenges with its own realm and records everything it is sent. */
export async function startStranger(): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  let origin = '';
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    record(requests, req, Buffer.concat(chunks).toString('utf8'));
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/steal') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token: 'stolen-token', expires_in: 300 }));
      return;
    }
    ociError(res, 401, 'UNAUTHORIZED', { 'www-authenticate': `Bearer realm="${origin}/steal",service="stranger",scope="repository:x:pull"` });
  });
  const listening = await listen(server, sockets);
  origin = listening.url;
  return { ...listening, origin, requests };
}

export interface FakeRegistry extends FakeServer {
  /** Upstream connections closed by the proxy before the whole body was sent, by repository. */
  closedEarly: Map<string, number>;
  /** Bytes of push bodies received, by upload. */
  uploads: Map<string, { received: number; aborted: boolean }>;
  /** Bytes of `hugeerr` / `hugetags` the proxy made the registry send. */
  hugeSent: number;
}

/**
 * The registry. Every request needs a Bearer token from the auth server (`realm`), as Docker
 * Hub, GHCR and most others do; the ping without one answers the challenge.
 */
export async function startRegistry(options: { realm: string; stranger: string }): Promise<FakeRegistry> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  const closedEarly = new Map<string, number>();
  const uploads = new Map<string, { received: number; aborted: boolean }>();
  let self = '';
  const state = { hugeSent: 0 };
  const challenge = `Bearer realm="${options.realm}",service="fake-registry"`;

  const server = createServer((req, res) => {
    record(requests, req);
    const url = new URL(req.url ?? '/', 'http://x');
    const authorized = /^Bearer tok-\d+$/.test(req.headers.authorization ?? '');
    if (url.pathname === '/v2/' || !authorized) {
      req.resume();
      if (!authorized) return ociError(res, 401, 'UNAUTHORIZED', { 'www-authenticate': challenge });
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    const match = /^\/v2\/([a-z0-9-]+)\/(blobs\/uploads\/.*|blobs|manifests|tags)(?:\/(.*))?$/.exec(url.pathname);
    if (!match) return ociError(res, 404, 'NAME_UNKNOWN');
    const [, repo, kind] = match as unknown as [string, string, string];
    res.on('close', () => {
      if (!res.writableFinished) closedEarly.set(repo, (closedEarly.get(repo) ?? 0) + 1);
    });
    if (kind.startsWith('blobs/uploads/')) return upload(req, res, repo, kind.slice('blobs/uploads/'.length));
    if (kind === 'tags') return tags(res, repo);
    return blob(req, res, repo);
  });

  function upload(req: IncomingMessage, res: ServerResponse, repo: string, id: string): void {
    if (req.method === 'POST') {
      req.resume();
      res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/u${uploads.size + 1}`, 'content-length': '0', range: '0-0' });
      res.end();
      uploads.set(`u${uploads.size + 1}`, { received: 0, aborted: false });
      return;
    }
    const entry = uploads.get(id) ?? { received: 0, aborted: false };
    uploads.set(id, entry);
    req.on('data', (chunk: Buffer) => (entry.received += chunk.length));
    req.on('aborted', () => (entry.aborted = true));
    req.on('error', () => (entry.aborted = true));
    req.on('end', () => {
      res.writeHead(202, { location: `/v2/${repo}/blobs/uploads/${id}`, range: `0-${Math.max(0, entry.received - 1)}`, 'content-length': '0' });
      res.end();
    });
  }

  async function tags(res: ServerResponse, repo: string): Promise<void> {
    if (repo !== 'hugetags') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ name: repo, tags: ['v1', 'v2'] }));
      return;
    }
    // Chunked, no Content-Length: only counting while reading finds out it is too large.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`{"name":"${repo}","tags":[`);
    const filler = Buffer.from('"t0000000000000000000000000000000",'.repeat(2000));
    for (let sent = 0; sent < 32 * MiB; sent += filler.length) {
      if (!(await writeAll(res, filler))) return;
      state.hugeSent += filler.length;
    }
    res.end('"last"]}');
  }

  async function blob(req: IncomingMessage, res: ServerResponse, repo: string): Promise<void> {
    req.resume();
    const socket = res.socket!;
    const partialHead = { 'content-type': 'application/octet-stream', 'content-length': String(PARTIAL_SIZE), 'docker-content-digest': PARTIAL_DIGEST };
    const sendBlob = (bytes: Buffer, digest: string) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), 'docker-content-digest': digest });
      if (req.method === 'HEAD') return void res.end();
      void writeAll(res, bytes).then((whole) => whole && res.end());
    };
    if (repo.startsWith('ok')) return sendBlob(OK_BLOB, OK_DIGEST);
    switch (repo) {
      case 'big':
        return sendBlob(BIG_BLOB, BIG_DIGEST);
      case 'reset':
        return void socket.resetAndDestroy();
      case 'nohead':
        return void socket.end();
      case 'garbage':
        return void socket.end('HTTP/1.1 2');
      case 'hang':
        return; // headers never come
      case 'stall':
        res.writeHead(200, partialHead);
        res.write(PARTIAL_BLOB.subarray(0, 64 * KiB));
        return; // the rest never comes
      case 'cut':
        res.writeHead(200, partialHead);
        res.write(PARTIAL_BLOB.subarray(0, PARTIAL_SIZE / 2), () => setTimeout(() => socket.resetAndDestroy(), 20));
        return;
      case 'short':
        res.writeHead(200, partialHead);
        res.write(PARTIAL_BLOB.subarray(0, PARTIAL_SIZE / 2), () => setTimeout(() => socket.end(), 20));
        return;
      case 'mshort': // a manifest (read whole by the proxy, not streamed) that ends short
      case 'mstall': {
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'content-length': String(SMALL_MANIFEST_SIZE) });
        res.write(PARTIAL_BLOB.subarray(0, SMALL_MANIFEST_SIZE / 2), () => {
          if (repo === 'mshort') setTimeout(() => socket.end(), 20);
        });
        return; // mstall: the rest never comes
      }
      case 'long': {
        // Content-Length says 1000; 2000 bytes follow, the rest garbage on a keep-alive connection.
        const head = `HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000\r\ndocker-content-digest: ${sha256(OK_BLOB.subarray(0, 1000))}\r\n\r\n`;
        socket.write(head);
        socket.write(OK_BLOB.subarray(0, 2000));
        return;
      }
      case 'early':
        res.writeEarlyHints({ link: '</x>; rel=preload' });
        return sendBlob(OK_BLOB, OK_DIGEST);
      case 's999':
        return void socket.end('HTTP/1.1 999 Odd\r\ncontent-length: 0\r\n\r\n');
      case 's600':
        return void socket.end('HTTP/1.1 600 Odd\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}');
      case 'ratelimit':
        return ociError(res, 429, 'TOOMANYREQUESTS', { 'retry-after': '7' });
      case 'unavailable':
        return ociError(res, 503, 'UNAVAILABLE', { 'retry-after': '3' });
      case 'redirect':
        res.writeHead(307, { location: `${options.stranger}/challenge`, 'content-length': '0' });
        return void res.end();
      case 'loop':
        res.writeHead(302, { location: `${self}/v2/loop/blobs/${OK_DIGEST}?n=${Math.random()}`, 'content-length': '0' });
        return void res.end();
      case 'hugeerr': {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.write('{"errors":[{"code":"BLOB_UNKNOWN","message":"');
        const filler = Buffer.alloc(64 * KiB, 'x');
        for (let sent = 0; sent < 50 * MiB; sent += filler.length) {
          if (!(await writeAll(res, filler))) return;
          state.hugeSent += filler.length;
        }
        return void res.end('","detail":null}]}');
      }
      case 'chunkerr':
        res.writeHead(404, { 'content-type': 'application/json' });
        res.write('{"errors":[{"code":"BLOB_UNKNOWN",');
        return void res.end(`"message":"blob unknown","detail":{"name":"${repo}"}}]}`);
      case 'stallerr':
        res.writeHead(404, { 'content-type': 'application/json', 'content-length': '200' });
        res.write('{"errors":[{"code":"BLOB_UNK');
        return; // the rest never comes
      default:
        return ociError(res, 404, 'BLOB_UNKNOWN');
    }
  }

  const listening = await listen(server, sockets);
  self = listening.url;
  return {
    ...listening,
    origin: listening.url,
    requests,
    closedEarly,
    uploads,
    get hugeSent() {
      return state.hugeSent;
    },
  };
}
