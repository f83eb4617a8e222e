/**
 * Starts the proxy's CLI as a child process under one runtime, on a port it picks itself
 * (`--port 0`), and reads the address from its "listening on URL" line.
 */
import { spawnTracked, type TrackedProcess } from '../integration/harness/process.ts';
import type { Runtime } from './runtimes.ts';
import { startExampleWorker } from './workerd.ts';

export interface ProxyProcess {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  proc: TrackedProcess;
  /** SIGTERM (then SIGKILL), resolving when the process is gone. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** CLI arguments after `--port 0 --host 127.0.0.1`. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Start this script instead of the runtime's CLI (the Cloud Run entry, an example). */
  script?: string[];
  /** @default 30000 (Deno compiles the sources on its first start) */
  timeoutMs?: number;
  /** Listen options to pass; `[]` when the script reads PORT itself. @default ['--port', '0', '--host', '127.0.0.1'] */
  listenArgs?: string[];
  /** Pattern of the line announcing the address. */
  listening?: RegExp;
}

const LISTENING = /listening on (http:\/\/[^\s,"]+)/;

export async function startProxyProcess(runtime: Runtime, options: StartOptions): Promise<ProxyProcess> {
  if (!runtime.bin) throw new Error(`${runtime.name} is not installed: looked for ${runtime.lookedFor}`);
  if (runtime.name === 'workerd' && !options.script) return startExampleWorker(runtime, options.args);
  const listenArgs = options.listenArgs ?? ['--port', '0', '--host', '127.0.0.1'];
  const args = options.script ?? runtime.command([...listenArgs, ...options.args]);
  const proc = spawnTracked(runtime.bin, args, {
    env: { ...process.env, NO_COLOR: '1', ...options.env },
  });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const pattern = options.listening ?? LISTENING;
  for (;;) {
    const match = pattern.exec(proc.output());
    if (match) {
      const url = match[1]!.replace('0.0.0.0', '127.0.0.1');
      return { url, host: new URL(url).host, proc, stop: () => proc.stop(5000) };
    }
    if (proc.child.exitCode !== null || proc.child.signalCode !== null || Date.now() > deadline) {
      await proc.stop(1000);
      throw new Error(`${runtime.name}: the proxy did not start (${args.join(' ')}):\n${proc.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
