/**
 * Child-process and port helpers shared by the harness. Every process spawned through
 * `spawnTracked` is remembered and killed when the test worker exits, even if a test forgot
 * to stop it or a hook threw, so the suite never leaves servers behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

// Vitest re-evaluates this module for every test file in the same worker process: keep the
// set of children and the exit hook on globalThis so there is one of each per process.
interface HarnessGlobal {
  tracked: Set<ChildProcess>;
  exitHooks: Array<() => void>;
  installed: boolean;
}
const GLOBAL_KEY = Symbol.for('registry-proxy.integration-harness');
const harnessGlobal: HarnessGlobal = ((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] as HarnessGlobal | undefined) ??
  ((globalThis as Record<symbol, unknown>)[GLOBAL_KEY] = { tracked: new Set(), exitHooks: [], installed: false } satisfies HarnessGlobal);
const tracked = harnessGlobal.tracked;

/** Runs `hook` (synchronously) when the worker process exits. */
export function onProcessExit(hook: () => void): void {
  harnessGlobal.exitHooks.push(hook);
  installExitHook();
}

function installExitHook(): void {
  if (harnessGlobal.installed) return;
  harnessGlobal.installed = true;
  const killAll = (): void => {
    for (const child of tracked) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          child.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    tracked.clear();
    for (const hook of harnessGlobal.exitHooks.splice(0)) {
      try {
        hook();
      } catch {
        // best effort at exit
      }
    }
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
}

export interface TrackedProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far (the last 256 KiB). */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

const MAX_OUTPUT = 256 * 1024;

/** Starts a long-running process (a server) whose lifetime the harness owns. */
export function spawnTracked(
  command: string,
  args: string[],
  /** extraPipes: pipes opened as fds 3, 4, … (`child.stdio[3]`), e.g. for workerd's --control-fd. */
  options: { env?: NodeJS.ProcessEnv; cwd?: string; extraPipes?: number } = {},
): TrackedProcess {
  installExitHook();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', ...Array<'pipe'>(options.extraPipes ?? 0).fill('pipe')],
  });
  tracked.add(child);
  let buffer = '';
  const append = (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    if (buffer.length > MAX_OUTPUT) buffer = buffer.slice(-MAX_OUTPUT);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      tracked.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    child.once('error', (error) => {
      tracked.delete(child);
      append(Buffer.from(`spawn error: ${error.message}\n`));
      resolve('error');
    });
  });
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null || !tracked.has(child)) {
      await exited;
      return;
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { child, output: () => buffer, exited, stop };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the command was killed because it ran longer than `timeoutMs`. */
  timedOut: boolean;
}

/** Runs a short command to completion (skopeo, openssl, htpasswd) with a hard timeout. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  installExitHook();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    tracked.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    if (options.input !== undefined) child.stdin?.end(options.input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 90_000);
    const finish = (code: number): void => {
      clearTimeout(timer);
      tracked.delete(child);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), timedOut });
    };
    child.once('error', (error) => {
      err.push(Buffer.from(`spawn error: ${error.message}\n`));
      finish(127);
    });
    child.once('close', (code, signal) => finish(code ?? (signal ? 128 : 1)));
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1 (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Polls `url` until it answers with any HTTP status. Rejects after `timeoutMs`, or as soon as
 * `alive()` says the server process has died.
 */
export async function waitForHttp(url: string, timeoutMs = 20_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`server for ${url} exited before answering`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await response.body?.cancel();
      return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${url}: ${String(lastError)}`);
}

/** Checks that the system tools the harness drives are installed; throws a helpful error if not. */
export async function requireCommands(...commands: string[]): Promise<void> {
  const missing: string[] = [];
  for (const command of commands) {
    const result = await run('sh', ['-c', `command -v "$1"`, 'sh', command], { timeoutMs: 5000 });
    if (result.code !== 0) missing.push(command);
  }
  if (missing.length > 0) {
    throw new Error(`integration tests need ${missing.join(', ')} on PATH; run: bash scripts/system-deps.sh`);
  }
}
