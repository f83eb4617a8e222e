/**
 * Clients for the fault suite, on raw sockets so they can do what fetch will not: read slowly,
 * pause, leave mid-body, send odd request targets and headers, and tell a body that ended
 * cleanly from one whose connection broke (a truncated blob must never look complete).
 */
import http from 'node:http';
import { connect } from 'node:net';

export interface Download {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body ended as its framing said it would (Content-Length reached, or the last chunk). */
  complete: boolean;
}

export interface DownloadOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Stop reading after this many bytes for `pauseMs` (backpressure), then read on. */
  pauseAfter?: number;
  pauseMs?: number;
  /** Destroy the connection after this many body bytes. */
  abortAfter?: number;
  /** Give up (and fail) after this long. @default 20000 */
  timeoutMs?: number;
}

/** A GET over its own connection, reporting whether the body arrived whole. */
export function download(url: string, options: DownloadOptions = {}): Promise<Download> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`${url}: no end within ${options.timeoutMs ?? 20_000} ms (a hang)`));
    }, options.timeoutMs ?? 20_000);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let received = 0;
      let paused = false;
      let settled = false;
      const finish = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), complete: response.complete });
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (options.abortAfter !== undefined && received >= options.abortAfter) {
          request.destroy();
          finish();
        } else if (options.pauseAfter !== undefined && !paused && received >= options.pauseAfter) {
          paused = true;
          response.pause();
          setTimeout(() => response.resume(), options.pauseMs ?? 0);
        }
      });
      response.on('end', finish);
      response.on('error', finish);
      response.on('close', finish);
    });
    request.end();
  });
}

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/**
 * Sends `text` as it is (the request line and headers included) and reads until the server
 * closes or `timeoutMs` passes. `chunkDelayMs` sends it a few bytes at a time.
 */
export function rawExchange(host: string, text: string | Buffer, options: { chunkDelayMs?: number; timeoutMs?: number } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(`http://${host}`);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      const head = end === -1 ? all : all.slice(0, end);
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      let body = end === -1 ? '' : all.slice(end + 4);
      if (/transfer-encoding:\s*chunked/i.test(head)) body = dechunk(body);
      resolve({ status, head, body });
    };
    const timer = setTimeout(finish, options.timeoutMs ?? 10_000);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      // One response is all we want: stop once its body is complete.
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = all.slice(0, end);
      const length = /content-length:\s*(\d+)/i.exec(head);
      if (length && all.length - end - 4 >= Number(length[1])) finish();
      else if (/transfer-encoding:\s*chunked/i.test(head) && all.endsWith('0\r\n\r\n')) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', async () => {
      const bytes = Buffer.from(text);
      if (!options.chunkDelayMs) return void socket.write(bytes);
      for (let offset = 0; offset < bytes.length && !socket.destroyed; offset += 8) {
        socket.write(bytes.subarray(offset, offset + 8));
        await new Promise((r) => setTimeout(r, options.chunkDelayMs));
      }
    });
  });
}

function dechunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line === -1) return out;
    const size = parseInt(rest.slice(0, line), 16);
    if (!size) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

/** Starts a push body of `declared` bytes, sends `sent` of them, and closes the connection. */
export function abandonedPush(url: string, declared: number, sent: number, authorization: string): Promise<void> {
  const target = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(
        `PATCH ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nauthorization: ${authorization}\r\ncontent-type: application/octet-stream\r\ncontent-length: ${declared}\r\n\r\n`,
      );
      socket.write(Buffer.alloc(sent, 7), () => setTimeout(() => socket.destroy(), 200));
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
}

/** The OCI error body `{"errors":[{code,…}]}`'s first code, or undefined when the body is not one. */
export function ociCode(body: string | Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString()) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = parsed.errors?.[0];
    return typeof first?.code === 'string' && typeof first.message === 'string' ? first.code : undefined;
  } catch {
    return undefined;
  }
}
