/**
 * Starts a real CNCF distribution registry (`docker-registry serve config.yml`, Debian's
 * /usr/bin/docker-registry, 2.8.x) on a free 127.0.0.1 port, plain http, with a temporary
 * storage directory, in one of three auth modes:
 *
 * - `none`: anonymous pull and push;
 * - `htpasswd`: Basic auth (bcrypt file made with `htpasswd -Bbn` from apache2-utils);
 * - `token`: Bearer token auth against a {@link TokenIssuer} (realm/service/issuer/rootcertbundle).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, run, spawnTracked, waitForHttp, type TrackedProcess } from './process.ts';
import type { TokenIssuer } from './token-issuer.ts';

export const REGISTRY_BIN = process.env.REGISTRY_BIN ?? 'docker-registry';

export { MANIFEST_ACCEPT } from '../../upstreams/images.ts';

interface CommonOptions {
  /** Share a storage directory with another registry (it is then not deleted on stop). */
  storageDir?: string;
  /** distribution log level. @default 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Keep distribution's access log (on the process output, see `logs()`). @default false */
  accessLog?: boolean;
  /** Extra top-level `http.headers` the registry adds to every response. */
  headers?: Record<string, string>;
  /** distribution's read-only maintenance mode: writes are refused with 405. @default false */
  readOnly?: boolean;
}

export type RegistryOptions =
  | (CommonOptions & { auth: 'none' })
  | (CommonOptions & { auth: 'htpasswd'; username?: string; password?: string })
  | (CommonOptions & { auth: 'token'; issuer: TokenIssuer });

export interface Registry {
  auth: 'none' | 'htpasswd' | 'token';
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` (for `docker://HOST/name:tag`) */
  host: string;
  port: number;
  storageDir: string;
  /** htpasswd mode: the user the registry accepts. */
  username?: string;
  /** htpasswd mode: that user's password. */
  password?: string;
  /** `username:password` for skopeo's `--src-creds`/`--dest-creds` (htpasswd mode). */
  creds?: string;
  /** distribution's output so far. */
  logs(): string;
  stop(): Promise<void>;
}

/** How the htpasswd file was made; reported by the harness test. */
export let htpasswdTool: 'htpasswd -Bbn' | undefined;

async function makeHtpasswd(username: string, password: string): Promise<string> {
  // -B bcrypt (the only hash distribution accepts), -b password on the command line, -n to
  // stdout; -C 5 keeps bcrypt cheap (distribution checks it on every request).
  const result = await run('htpasswd', ['-Bbn', '-C', '5', username, password], { timeoutMs: 20_000 });
  if (result.code !== 0) {
    throw new Error(`htpasswd failed (install apache2-utils: bash scripts/system-deps.sh): ${result.stderr}`);
  }
  htpasswdTool = 'htpasswd -Bbn';
  return result.stdout.trim() + '\n';
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-registry-'));
  const storageDir = options.storageDir ?? join(dir, 'data');
  let username: string | undefined;
  let password: string | undefined;
  let authYaml = '';
  if (options.auth === 'htpasswd') {
    username = options.username ?? 'testuser';
    password = options.password ?? 'htpass-s3cret';
    const file = join(dir, 'htpasswd');
    await writeFile(file, await makeHtpasswd(username, password));
    authYaml = ['auth:', '  htpasswd:', '    realm: test-basic', `    path: ${yamlString(file)}`].join('\n');
  } else if (options.auth === 'token') {
    const { issuer } = options;
    authYaml = [
      'auth:',
      '  token:',
      `    realm: ${yamlString(issuer.realm)}`,
      `    service: ${yamlString(issuer.service)}`,
      `    issuer: ${yamlString(issuer.issuer)}`,
      `    rootcertbundle: ${yamlString(issuer.certPath)}`,
    ].join('\n');
  }
  const headerLines = Object.entries({ 'X-Content-Type-Options': 'nosniff', ...options.headers }).map(
    ([name, value]) => `    ${name}: [${yamlString(value)}]`,
  );

  let lastError: unknown;
  // A port found free can be taken before the registry binds it: retry with another.
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    const config = [
      'version: 0.1',
      'log:',
      `  level: ${options.logLevel ?? 'warn'}`,
      '  accesslog:',
      `    disabled: ${options.accessLog ? 'false' : 'true'}`,
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${yamlString(storageDir)}`,
      '  cache:',
      '    blobdescriptor: inmemory',
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      '    readonly:',
      `      enabled: ${options.readOnly ? 'true' : 'false'}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: registry-proxy-integration-tests',
      '  headers:',
      ...headerLines,
      authYaml,
      '',
    ].join('\n');
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, config);
    const proc: TrackedProcess = spawnTracked(REGISTRY_BIN, ['serve', configPath], {
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' },
    });
    const alive = (): boolean => proc.child.exitCode === null && proc.child.signalCode === null;
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${url}/v2/`, 20_000, alive);
    } catch (error) {
      lastError = new Error(`${String(error)}\n--- docker-registry output ---\n${proc.output()}`);
      await proc.stop(1000);
      if (/address already in use/i.test(proc.output())) continue;
      break;
    }
    let stopped = false;
    return {
      auth: options.auth,
      url,
      host: `127.0.0.1:${port}`,
      port,
      storageDir,
      ...(username !== undefined ? { username, password, creds: `${username}:${password}` } : {}),
      logs: proc.output,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await proc.stop();
        // The own storage lives inside `dir`; a shared one (options.storageDir) is left alone.
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
