import { createDenoFetch } from './deno-fetch.ts';
import { serverAddress, prepareServe, settleWithin, type ServeOptions, type ServerAddress } from './serve-options.ts';

/** The filesystem cache store (`cache: { store: new FsCacheStore(dir) }`, or just the directory path). */
export { FsCacheStore } from './cache/fs-store.ts';
export type { ServeOptions, ServerAddress } from '../lib/options/types.ts';

/**
 * The few parts of the `Deno` global this adapter uses, typed here so that no Deno type reaches
 * the published declarations (srvx vendors its runtime types for the same reason).
 */
interface DenoHttpServer {
  addr: { hostname: string; port: number };
  finished: Promise<void>;
  shutdown(): Promise<void>;
}
type DenoServeHandler = (request: Request, info: { remoteAddr?: { hostname?: string } }) => Response | Promise<Response>;
interface DenoGlobal {
  serve(options: {
    port: number;
    hostname: string;
    onListen?: (addr: { hostname: string; port: number }) => void;
    handler: DenoServeHandler;
  }): DenoHttpServer;
  addSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  removeSignalListener(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  exit(code: number): never;
}

export type DenoServeOptions = ServeOptions;

export interface DenoServer extends ServerAddress {
  /** The underlying `Deno.HttpServer`. */
  server: DenoHttpServer;
}

/** Serves the proxy with `Deno.serve`, with Deno's fetch over HTTP/1.1 for the upstream unless `fetch` is given. */
export async function serve(options: DenoServeOptions = {}): Promise<DenoServer> {
  const deno = (globalThis as unknown as { Deno?: DenoGlobal }).Deno;
  if (!deno) throw new Error('registry-proxy/deno: the Deno global is missing; use registry-proxy/node or /bun on other runtimes');
  const { port, hostname, handleSignals, drainTimeout, fetch, metrics, drain } = prepareServe({
    ...options,
    fetch: options.fetch ?? createDenoFetch(),
  });

  const listen = async (at: { port: number; hostname: string }, handler: DenoServeHandler) => {
    let listening!: (addr: { hostname: string; port: number }) => void;
    const listened = new Promise<{ hostname: string; port: number }>((resolve) => (listening = resolve));
    // onListen replaces Deno's default "Listening on …" line, which would otherwise go to stdout.
    const server = deno.serve({ port: at.port, hostname: at.hostname, onListen: (addr) => listening(addr), handler });
    return { server, addr: await listened };
  };
  // Deno's handler info carries the client's address (`remoteAddr`), as the proxy reads it.
  const { server, addr } = await listen({ port, hostname }, (request, info) => fetch(request, info));
  const operations = metrics ? await listen(metrics, (request) => metrics.fetch(request)) : undefined;

  let closing: Promise<void> | undefined;
  // shutdown() stops accepting and waits for in-flight responses, streamed bodies included;
  // Deno has no way to cut those connections, so after drainTimeout we stop waiting. The
  // operations listener goes last, so probes see /readyz fail through the drain.
  const close = () =>
    (closing ??= (async () => {
      drain();
      await settleWithin(server.shutdown(), drainTimeout);
      if (operations) await settleWithin(operations.server.shutdown(), 1000);
    })());

  if (handleSignals) {
    const onSignal = () => {
      void close().then(() => deno.exit(0));
    };
    for (const signal of ['SIGTERM', 'SIGINT'] as const) deno.addSignalListener(signal, onSignal);
    void server.finished.then(() => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) deno.removeSignalListener(signal, onSignal);
    });
  }

  return { ...serverAddress(addr, operations?.addr, close), server };
}
