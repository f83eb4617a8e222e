/**
 * Starts the project's Node adapter (`adapters/node/serve.ts`) on 127.0.0.1:0 for a test, with
 * errors collected, and helpers to check that upstream secrets never reach a client.
 */
import { serve, type RunningServer } from '../../../adapters/node/serve.ts';
import type { RegistryProxyOptions } from '../../../lib/options/types.ts';

/** The proxy's options; where it listens and its error hook are the harness's. */
export type TestProxyOptions = RegistryProxyOptions;

export interface TestProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Errors the proxy reported through `onError` (request method + URL and the error). */
  errors: string[];
  stop(): Promise<void>;
}

export async function startProxy(options: TestProxyOptions): Promise<TestProxy> {
  const errors: string[] = [];
  const server: RunningServer = await serve({
    port: 0,
    hostname: '127.0.0.1',
    ...options,
    drainTimeout: 2000,
    onError: (error, request) => {
      errors.push(`${request.method} ${request.url}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    },
  });
  let stopped = false;
  return {
    url: server.url,
    host: new URL(server.url).host,
    errors,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
    },
  };
}
