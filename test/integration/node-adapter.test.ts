/**
 * The Node adapter's own parts, over real sockets: the upstream keep-alive pool (the upstream's
 * `Keep-Alive: timeout`, one retry of a GET whose reused connection was closed under it, never a
 * replayed body) and the lightweight Request the listener hands to a handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serve, type NodeServer } from '../../adapters/node/serve.ts';
import { createNodeFetch } from '../../adapters/node/upstream-fetch.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Upstream {
  url: string;
  server: Server;
  /** Connections accepted, and when each was closed (ms after it opened), in order. */
  connections: Array<{ socket: Socket; openedAt: number; closedAfter?: number }>;
  stop(): Promise<void>;
}

async function startUpstream(
  handle: (request: IncomingMessage, response: ServerResponse, connection: number) => void,
  keepAliveTimeout = 60_000,
): Promise<Upstream> {
  const connections: Upstream['connections'] = [];
  const server = createServer((request, response) => handle(request, response, connections.findIndex((c) => c.socket === request.socket)));
  // Node's server announces its own `Keep-Alive: timeout=N` unless this is 0.
  server.keepAliveTimeout = keepAliveTimeout;
  server.on('connection', (socket) => {
    const entry: Upstream['connections'][number] = { socket, openedAt: Date.now() };
    connections.push(entry);
    socket.once('close', () => (entry.closedAfter = Date.now() - entry.openedAt));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    connections,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the Node upstream pool', () => {
  it("closes an idle connection a second before the upstream's Keep-Alive: timeout, and reuses it until then", async () => {
    const upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'keep-alive': 'timeout=2' }).end('ok');
    });
    cleanups.push(() => upstream.stop());
    const fetch = createNodeFetch({ keepAlive: 30_000 });

    expect(await (await fetch(`${upstream.url}/a`)).text()).toBe('ok');
    expect(await (await fetch(`${upstream.url}/b`)).text()).toBe('ok');
    expect(upstream.connections).toHaveLength(1);
    for (let waited = 0; upstream.connections[0]!.closedAfter === undefined && waited < 5000; waited += 50) await sleep(50);
    // timeout=2 means the upstream may close it after 2 s: the pool lets go at ~1 s, well before.
    expect(upstream.connections[0]!.closedAfter).toBeGreaterThanOrEqual(800);
    expect(upstream.connections[0]!.closedAfter).toBeLessThan(1900);
  });

  it('without a hint, keeps an idle connection for `keepAlive` ms', async () => {
    const upstream = await startUpstream((_request, response) => response.writeHead(200).end('ok'), 0);
    cleanups.push(() => upstream.stop());
    const fetch = createNodeFetch({ keepAlive: 300 });
    expect(await (await fetch(`${upstream.url}/a`)).text()).toBe('ok');
    for (let waited = 0; upstream.connections[0]!.closedAfter === undefined && waited < 5000; waited += 50) await sleep(50);
    expect(upstream.connections[0]!.closedAfter).toBeLessThan(2000);
  });

  it('sends a GET again on a new connection when the reused one is reset before any byte of an answer', async () => {
    let requests = 0;
    const upstream = await startUpstream((request, response, connection) => {
      requests++;
      // The second request on the first connection: the upstream closed it just as it arrived.
      if (connection === 0 && requests === 2) {
        request.socket.resetAndDestroy();
        return;
      }
      response.writeHead(200).end(`answer ${requests} on connection ${connection}`);
    });
    cleanups.push(() => upstream.stop());
    const fetch = createNodeFetch({ keepAlive: 30_000 });
    expect(await (await fetch(`${upstream.url}/v2/`)).text()).toBe('answer 1 on connection 0');
    const retried = await fetch(`${upstream.url}/v2/`);
    expect(retried.status).toBe(200);
    expect(await retried.text()).toBe('answer 3 on connection 1');
  });

  it('never sends a request body twice: a PUT on a reset reused connection fails', async () => {
    const bodies: string[] = [];
    let requests = 0;
    const upstream = await startUpstream((request, response, connection) => {
      requests++;
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        bodies.push(body);
        if (connection === 0 && requests === 2) request.socket.resetAndDestroy();
        else response.writeHead(201).end();
      });
    });
    cleanups.push(() => upstream.stop());
    const fetch = createNodeFetch({ keepAlive: 30_000 });
    const first = await fetch(`${upstream.url}/first`, { method: 'PUT', body: 'one' });
    expect(first.status).toBe(201);
    await first.text(); // the connection goes back to the pool
    await expect(fetch(`${upstream.url}/second`, { method: 'PUT', body: 'two' })).rejects.toThrow(/fetch failed/);
    await sleep(100);
    expect(bodies).toEqual(['one', 'two']);
  });

  it('answers a status outside 200-599 with a failed fetch, not a crash', async () => {
    const upstream = await startUpstream((request) => {
      request.socket.end('HTTP/1.1 999 Odd\r\ncontent-length: 0\r\n\r\n');
    });
    cleanups.push(() => upstream.stop());
    await expect(createNodeFetch()(`${upstream.url}/v2/`)).rejects.toThrow(/fetch failed/);
  });
});

describe('the Node listener', () => {
  let running: NodeServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  it('hands the handler a Request that is a Request: the usual members answer, any other makes the full one', async () => {
    const seen: Record<string, unknown> = {};
    running = await serve({
      port: 0,
      hostname: '127.0.0.1',
      handler: async (request) => {
        seen.instance = request instanceof Request;
        seen.method = request.method;
        seen.url = request.url;
        seen.header = request.headers.get('x-test');
        seen.aborted = request.signal.aborted;
        seen.cache = request.cache;
        seen.text = await request.clone().text();
        return new Response(JSON.stringify({ echoed: await request.text() }), { status: 201, headers: { 'content-type': 'application/json' } });
      },
    });
    const response = await fetch(`${running.url}/v2/x?q=1`, { method: 'POST', body: 'payload', headers: { 'x-test': 'yes' } });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ echoed: 'payload' });
    expect(seen).toEqual({
      instance: true,
      method: 'POST',
      url: `${running.url}/v2/x?q=1`,
      header: 'yes',
      aborted: false,
      cache: 'default',
      text: 'payload',
    });
  });

  it("aborts the request's signal when the client goes away before its answer", async () => {
    let aborted: Promise<boolean> | undefined;
    running = await serve({
      port: 0,
      hostname: '127.0.0.1',
      handler: (request) => {
        aborted = new Promise((resolve) => request.signal.addEventListener('abort', () => resolve(true)));
        return new Promise<Response>(() => {});
      },
    });
    const controller = new AbortController();
    const pending = fetch(`${running.url}/v2/`, { signal: controller.signal }).catch(() => undefined);
    for (let waited = 0; aborted === undefined && waited < 5000; waited += 20) await sleep(20);
    controller.abort();
    await pending;
    expect(await aborted).toBe(true);
  });

  it('a handler that throws gets the client a 500 with an OCI body and reaches onError', async () => {
    const errors: unknown[] = [];
    running = await serve({
      port: 0,
      hostname: '127.0.0.1',
      onError: (error) => errors.push(error),
      handler: () => Promise.reject(new Error('boom')),
    });
    const response = await fetch(`${running.url}/v2/`);
    expect(response.status).toBe(500);
    expect((await response.json()).errors[0].code).toBe('UNKNOWN');
    expect(errors).toHaveLength(1);
  });
});
