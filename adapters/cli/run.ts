import { RegistryProxyOptionsError } from '../../lib/options/error.ts';
import { hashPassword } from '../../lib/auth/password-hash.ts';
import { applyConfigFile, ConfigError, describeOptionError, parseConfig, usage, type CliConfig } from './config.ts';
import { formatLogLine } from './log-format.ts';
import type { ServeOptions } from '../serve-options.ts';

/** What a runtime gives the CLI: its arguments, environment, output and a `serve`. */
export interface CliHost {
  argv: string[];
  env: Record<string, string | undefined>;
  readTextFile(path: string): string;
  /** All of standard input (for `hash-password`). */
  readStdin(): Promise<string>;
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): never;
  serve(options: ServeOptions): Promise<{ url: string }>;
}

/** Deno says `AddrInUse`, Node and Bun `EADDRINUSE`. */
function isAddressInUse(error: unknown): boolean {
  const { code, name, message } = (error ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
  return code === 'EADDRINUSE' || name === 'AddrInUse' || (typeof message === 'string' && /address already in use|EADDRINUSE/i.test(message));
}

/**
 * The command line every runtime shares (`cli.ts` on Node, `deno-cli.ts`, `bun-cli.ts`,
 * `cloud-run-cli.ts`), with the runtime's I/O passed in: flags, environment and config file as
 * `config.ts` reads them, access log lines on stdout, exit code 2 for bad options.
 */
export async function runCli(host: CliHost): Promise<void> {
  const fail = (message: string): never => {
    host.stderr(`registry-proxy: ${message}\n`);
    return host.exit(2);
  };

  if (host.argv[0] === 'hash-password') {
    // The password comes on standard input, so it never appears in argv or shell history.
    const password = (await host.readStdin()).replace(/\r?\n$/, '');
    if (password === '') return fail('hash-password reads the password from standard input; it was empty');
    host.stdout(`${await hashPassword(password)}\n`);
    return host.exit(0);
  }

  let config: CliConfig;
  try {
    config = parseConfig(host.argv, host.env);
    if (config.configFile) {
      let text: string;
      try {
        text = host.readTextFile(config.configFile.path);
      } catch (error) {
        throw new ConfigError(config.configFile.source, `could not be read: ${(error as Error).message}`);
      }
      applyConfigFile(config, text, host.env);
    }
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message);
    throw error;
  }
  if (config.help) {
    host.stdout(`${usage()}\n`);
    return host.exit(0);
  }
  if (config.passwordFile) {
    const { path, source, username } = config.passwordFile;
    try {
      config.proxy.credentials = { username, password: host.readTextFile(path).trim() };
    } catch (error) {
      return fail(`${source} could not be read: ${(error as Error).message}`);
    }
  }

  const format = config.log;
  try {
    const server = await host.serve({
      ...config.proxy,
      port: config.port,
      hostname: config.hostname,
      handleSignals: true,
      onRequest: format === 'off' ? undefined : (entry) => host.stdout(formatLogLine(entry, format)),
      onError: (error) => host.stderr(`registry-proxy: ${error instanceof Error ? error.message : String(error)}\n`),
    });
    const upstreams = config.proxy.upstreams?.map((route) => route.upstream).join(', ') ?? config.proxy.upstream ?? 'docker.io';
    host.stderr(`registry-proxy: listening on ${server.url}, fronting ${upstreams}\n`);
  } catch (error) {
    if (error instanceof RegistryProxyOptionsError) return fail(describeOptionError(error, config));
    if (isAddressInUse(error)) return fail(`port ${config.port} is already in use`);
    // Listening is all serve() does once the options are valid: a failure here is the listen
    // address (a name that does not resolve, an address this machine does not have).
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    return fail(`${config.sources.host ?? '--host'} ${JSON.stringify(config.hostname)} cannot be listened on: ${reason}`);
  }
}
