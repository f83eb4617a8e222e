import process from 'node:process';
import { createBunFetch } from './bun-fetch.ts';
import { serverAddress, prepareServe, settleWithin, type ServeOptions, type ServerAddress } from './serve-options.ts';

/** The filesystem cache store (`cache: { store: new FsCacheStore(dir) }`, or just the directory path). */
export { FsCacheStore } from './cache/fs-store.ts';
export type { ServeOptions, ServerAddress } from '../lib/options/types.ts';

/**
 * The few parts of the `Bun` global this adapter uses, typed here so that no Bun type reaches
 * the published declarations (srvx vendors its runtime types for the same reason).
 */
interface BunHttpServer {
  hostname: string;
  port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(request: Request): { address: string } | null;
}
interface BunGlobal {
  serve(options: {
    port: number;
    hostname: string;
    idleTimeout: number;
    fetch: (request: Request, server: BunHttpServer) => Response | Promise<Response>;
  }): BunHttpServer;
}

/** The proxy's `timeouts.idle` when none is given. */
const DEFAULT_IDLE_TIMEOUT = 60_000;

/** Bun caps `idleTimeout` at 255 seconds. */
const MAX_IDLE_SECONDS = 255;

export interface BunServeOptions extends ServeOptions {
  /**
   * Seconds a connection may carry no bytes before Bun closes it. Bun's default of 10 s cuts
   * slow blob streams and slow upstream answers, so the proxy's own timeouts
   * (`timeouts.headers`, `timeouts.idle`) should fire first: `0` turns Bun's check off.
   * @default 255 (Bun's maximum)
   */
  idleTimeout?: number;
}

export interface BunServer extends ServerAddress {
  /** The underlying `Bun.Server`. */
  server: BunHttpServer;
}

/** Serves the proxy with `Bun.serve`. */
export async function serve(options: BunServeOptions = {}): Promise<BunServer> {
  const bun = (globalThis as unknown as { Bun?: BunGlobal }).Bun;
  if (!bun) throw new Error('registry-proxy/bun: the Bun global is missing; use registry-proxy/node or /deno on other runtimes');
  const { idleTimeout = MAX_IDLE_SECONDS, ...rest } = options;
  if (!Number.isInteger(idleTimeout) || idleTimeout < 0 || idleTimeout > MAX_IDLE_SECONDS) {
    throw new RangeError(`registry-proxy: option "idleTimeout" must be a whole number of seconds from 0 to ${MAX_IDLE_SECONDS}`);
  }
  const { port, hostname, handleSignals, drainTimeout, fetch, metrics, drain } = prepareServe({
    ...rest,
    fetch: rest.fetch ?? createBunFetch(rest.timeouts?.idle ?? DEFAULT_IDLE_TIMEOUT),
  });

  // The proxy gets the client's address from Bun's server, never the server itself.
  const server = bun.serve({ port, hostname, idleTimeout, fetch: (request, bunServer) => fetch(request, { clientAddress: bunServer.requestIP(request)?.address }) });
  // The operations listener goes last on close, so probes see /readyz fail through the drain.
  const operations = metrics ? bun.serve({ port: metrics.port, hostname: metrics.hostname, idleTimeout, fetch: (request) => metrics.fetch(request) }) : undefined;

  const onSignal = () => {
    void close().then(() => process.exit(0));
  };
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      drain();
      // stop() stops listening and resolves once in-flight requests have finished.
      await settleWithin(server.stop(), drainTimeout);
      await server.stop(true);
      await operations?.stop(true);
    })());

  if (handleSignals) {
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  return { ...serverAddress(server, operations, close), server };
}
