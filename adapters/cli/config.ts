import type { RegistryProxyOptions } from '../../lib/options/types.ts';

/**
 * Turns command-line flags and environment variables into options, for the CLI of every runtime.
 * Knows the Go serverless-registry-proxy's variables (REGISTRY_HOST, REPO_PREFIX, AUTH_HEADER,
 * PORT, HOST, DISABLE_BROWSER_REDIRECTS) so it can replace it without changing a deployment.
 * Pure: the caller passes `argv` and `env`.
 */

export interface CliConfig {
  proxy: RegistryProxyOptions;
  port: number;
  hostname: string;
  log: 'text' | 'json' | 'off';
  /** Where each option came from (`--upstream`, `REGISTRY_HOST`…), to name it in errors. */
  sources: Record<string, string>;
  /** A JSON options file to read and merge under the flags (`--config`). */
  configFile: { path: string; source: string } | undefined;
  /** A file whose contents are the upstream password (GOOGLE_APPLICATION_CREDENTIALS, *_FILE). */
  passwordFile: { path: string; source: string; username: string } | undefined;
  help: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly source: string;

  constructor(source: string, message: string) {
    super(`${source} ${message}`);
    this.source = source;
  }
}

interface Setting {
  flag: string;
  env: string[];
  boolean?: boolean;
  description: string;
}

const SETTINGS = {
  upstream: { flag: 'upstream', env: ['REGISTRY_PROXY_UPSTREAM', 'REGISTRY_HOST'], description: 'registry to front: URL or host (default docker.io)' },
  prefix: { flag: 'prefix', env: ['REGISTRY_PROXY_PREFIX', 'REPO_PREFIX'], description: 'repository prefix added upstream, e.g. my-project/my-repo' },
  username: { flag: 'username', env: ['REGISTRY_PROXY_USERNAME'], description: 'upstream username held by the proxy' },
  password: { flag: 'password', env: ['REGISTRY_PROXY_PASSWORD'], description: 'upstream password held by the proxy' },
  passwordFile: { flag: 'password-file', env: ['REGISTRY_PROXY_PASSWORD_FILE'], description: 'file holding the upstream password' },
  authHeader: { flag: 'auth-header', env: ['REGISTRY_PROXY_AUTH_HEADER', 'AUTH_HEADER'], description: 'literal upstream Authorization value ("Basic …" / "Bearer …")' },
  googleCredentials: { flag: 'google-credentials', env: ['GOOGLE_APPLICATION_CREDENTIALS'], description: 'service-account JSON key file, sent as _json_key (GCR / Artifact Registry)' },
  redirects: { flag: 'redirects', env: ['REGISTRY_PROXY_REDIRECTS'], description: 'pass | follow: what to do with upstream blob redirects (default pass)' },
  browserRedirect: { flag: 'browser-redirect', env: ['REGISTRY_PROXY_BROWSER_REDIRECT'], description: 'URL that GET / redirects browsers to' },
  disableBrowserRedirects: { flag: 'no-browser-redirect', env: ['DISABLE_BROWSER_REDIRECTS'], boolean: true, description: 'no browser redirect' },
  allowPush: { flag: 'allow-push', env: ['REGISTRY_PROXY_ALLOW_PUSH'], boolean: true, description: 'pass writes (push) through instead of 405' },
  publicUrl: { flag: 'public-url', env: ['REGISTRY_PROXY_PUBLIC_URL'], description: 'the public URL clients use, for token realms' },
  trustForwarded: { flag: 'trust-forwarded', env: ['REGISTRY_PROXY_TRUST_FORWARDED'], boolean: true, description: 'honour X-Forwarded-Proto/-Host' },
  tokenPath: { flag: 'token-path', env: ['REGISTRY_PROXY_TOKEN_PATH'], description: 'path of the proxy token endpoint (default /_token)' },
  timeout: { flag: 'timeout', env: ['REGISTRY_PROXY_TIMEOUT'], description: 'ms to wait for upstream headers (default 30000)' },
  idleTimeout: { flag: 'idle-timeout', env: ['REGISTRY_PROXY_IDLE_TIMEOUT'], description: 'ms a body may stall before it is aborted (default 60000, 0 = off)' },
  port: { flag: 'port', env: ['REGISTRY_PROXY_PORT', 'PORT'], description: 'listen port (default 8080)' },
  host: { flag: 'host', env: ['REGISTRY_PROXY_HOST', 'HOST'], description: 'listen address (default 0.0.0.0)' },
  log: { flag: 'log', env: ['REGISTRY_PROXY_LOG'], description: 'text | json | off (default text)' },
  config: { flag: 'config', env: ['REGISTRY_PROXY_CONFIG'], description: 'JSON file with options: upstreams routing table, auth, …' },
  upstreams: { flag: 'upstreams', env: ['REGISTRY_PROXY_UPSTREAMS'], description: 'the upstreams routing table as JSON (see README)' },
  help: { flag: 'help', env: [], boolean: true, description: 'show this help' },
} satisfies Record<string, Setting>;

type SettingName = keyof typeof SETTINGS;

export function usage(): string {
  const lines = ['Usage: registry-proxy [options]', '', 'Every option can also be set by environment variable.', ''];
  for (const setting of Object.values(SETTINGS) as Setting[]) {
    const flag = `--${setting.flag}${setting.boolean ? '' : ' <value>'}`;
    const env = setting.env.length ? ` [${setting.env.join(', ')}]` : '';
    lines.push(`  ${flag.padEnd(28)} ${setting.description}${env}`);
  }
  return lines.join('\n');
}

function parseArgv(argv: string[]): Map<string, string> {
  const byFlag = new Map<string, Setting>((Object.values(SETTINGS) as Setting[]).map((setting) => [setting.flag, setting]));
  const values = new Map<string, string>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '-h') {
      values.set('help', 'true');
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const setting = match ? byFlag.get(match[1]!) : undefined;
    if (!match || !setting) throw new ConfigError(arg, 'is not a known option (see --help)');
    if (setting.boolean) {
      values.set(setting.flag, match[2] ?? 'true');
    } else if (match[2] !== undefined) {
      values.set(setting.flag, match[2]);
    } else {
      const next = argv[++index];
      if (next === undefined) throw new ConfigError(`--${setting.flag}`, 'needs a value');
      values.set(setting.flag, next);
    }
  }
  return values;
}

function parseBoolean(source: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(source, `must be true or false, got ${JSON.stringify(value)}`);
}

function parseInteger(source: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(source, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function parseConfig(argv: string[], env: Record<string, string | undefined>): CliConfig {
  const flags = parseArgv(argv);
  const sources: Record<string, string> = {};
  const read = (name: SettingName): { value: string; source: string } | undefined => {
    const setting: Setting = SETTINGS[name];
    const flagValue = flags.get(setting.flag);
    if (flagValue !== undefined) return { value: flagValue, source: `--${setting.flag}` };
    for (const variable of setting.env) {
      const value = env[variable];
      // DISABLE_BROWSER_REDIRECTS: the Go proxy treats any non-empty value as "on".
      if (value !== undefined && value !== '') return { value, source: variable };
    }
    return undefined;
  };
  const flag = (name: SettingName): boolean => {
    const found = read(name);
    if (!found) return false;
    if (name === 'disableBrowserRedirects' && found.source === 'DISABLE_BROWSER_REDIRECTS') return true;
    return parseBoolean(found.source, found.value);
  };

  const proxy: RegistryProxyOptions = {};
  const upstream = read('upstream');
  if (upstream) {
    proxy.upstream = upstream.value;
    sources.upstream = upstream.source;
  }
  const prefix = read('prefix');
  if (prefix) {
    proxy.repositoryPrefix = prefix.value;
    sources.repositoryPrefix = prefix.source;
  }

  let passwordFile: CliConfig['passwordFile'];
  const username = read('username');
  const password = read('password');
  const passwordFromFile = read('passwordFile');
  const authHeader = read('authHeader');
  const googleCredentials = read('googleCredentials');
  if (authHeader) {
    proxy.credentials = { authorization: authHeader.value };
    sources.credentials = authHeader.source;
  } else if (username || password || passwordFromFile) {
    if (!username) throw new ConfigError((password ?? passwordFromFile)!.source, 'needs a username (--username / REGISTRY_PROXY_USERNAME)');
    if (passwordFromFile) {
      passwordFile = { path: passwordFromFile.value, source: passwordFromFile.source, username: username.value };
    } else if (password) {
      proxy.credentials = { username: username.value, password: password.value };
    } else {
      throw new ConfigError(username.source, 'needs a password (--password / REGISTRY_PROXY_PASSWORD / _FILE)');
    }
    sources.credentials = username.source;
  } else if (googleCredentials) {
    // As the Go proxy does: the key file itself is the password of the `_json_key` user.
    passwordFile = { path: googleCredentials.value, source: googleCredentials.source, username: '_json_key' };
    sources.credentials = googleCredentials.source;
  }

  const redirects = read('redirects');
  if (redirects) {
    proxy.redirects = redirects.value as RegistryProxyOptions['redirects'];
    sources.redirects = redirects.source;
  }

  const browserRedirect = read('browserRedirect');
  if (flag('disableBrowserRedirects')) {
    proxy.browserRedirect = false;
  } else if (browserRedirect) {
    proxy.browserRedirect = browserRedirect.value;
    sources.browserRedirect = browserRedirect.source;
  } else if (upstream?.source === 'REGISTRY_HOST') {
    // The Go proxy sends browsers to the upstream's web page for the repository.
    proxy.browserRedirect = `https://${upstream.value}/${prefix?.value ?? ''}`;
    sources.browserRedirect = 'REGISTRY_HOST';
  }

  if (flag('allowPush')) proxy.readOnly = false;
  const publicUrl = read('publicUrl');
  if (publicUrl) {
    proxy.publicUrl = publicUrl.value;
    sources.publicUrl = publicUrl.source;
  }
  if (flag('trustForwarded')) proxy.trustForwardedHeaders = true;
  const tokenPath = read('tokenPath');
  if (tokenPath) {
    proxy.tokenPath = tokenPath.value;
    sources.tokenPath = tokenPath.source;
  }
  const timeout = read('timeout');
  const idleTimeout = read('idleTimeout');
  if (timeout || idleTimeout) {
    proxy.timeouts = {};
    if (timeout) proxy.timeouts.headers = parseInteger(timeout.source, timeout.value, 1, 3_600_000);
    if (idleTimeout) proxy.timeouts.idle = parseInteger(idleTimeout.source, idleTimeout.value, 0, 3_600_000);
  }

  const upstreams = read('upstreams');
  if (upstreams) {
    proxy.upstreams = parseJson(upstreams.source, upstreams.value) as RegistryProxyOptions['upstreams'];
    sources.upstreams = upstreams.source;
  }
  const configFile = read('config');

  const port = read('port');
  const host = read('host');
  if (host) sources.host = host.source;
  const log = read('log');
  if (log && log.value !== 'text' && log.value !== 'json' && log.value !== 'off') {
    throw new ConfigError(log.source, `must be text, json or off, got ${JSON.stringify(log.value)}`);
  }

  return {
    proxy,
    port: port ? parseInteger(port.source, port.value, 0, 65535) : 8080,
    hostname: host?.value ?? '0.0.0.0',
    log: (log?.value as CliConfig['log'] | undefined) ?? 'text',
    sources,
    passwordFile,
    configFile: configFile && { path: configFile.value, source: configFile.source },
    help: flag('help'),
  };
}

function parseJson(source: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(source, `is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Merges a JSON options file under the flags and variables, which win. Route credentials may
 * name an environment variable (`"passwordEnv": "GHCR_TOKEN"`) so the file holds no secret.
 */
export function applyConfigFile(config: CliConfig, text: string, env: Record<string, string | undefined>): void {
  const source = config.configFile!.source;
  const file = parseJson(source, text);
  if (typeof file !== 'object' || file === null || Array.isArray(file)) throw new ConfigError(source, 'must hold a JSON object of options');
  const options = file as Record<string, unknown>;
  const routes = Array.isArray(options.upstreams) ? (options.upstreams as Record<string, unknown>[]) : [];
  for (const [index, route] of routes.entries()) {
    const credentials = route?.credentials as Record<string, unknown> | undefined;
    if (credentials && typeof credentials.passwordEnv === 'string') {
      const password = env[credentials.passwordEnv];
      if (password === undefined) {
        throw new ConfigError(source, `upstreams[${index}].credentials.passwordEnv names ${credentials.passwordEnv}, which is not set`);
      }
      route.credentials = { username: credentials.username, password };
    }
  }
  for (const key of Object.keys(options)) config.sources[key] ??= source;
  config.proxy = { ...(options as RegistryProxyOptions), ...config.proxy };
}

/** Names the flag, variable or file behind an option in a creation error. */
export function describeOptionError(error: { option: string; message: string }, config: CliConfig): string {
  const root = error.option.split(/[ .([]/)[0]!;
  const source = config.sources[root];
  const message = error.message.replace(/^registry-proxy: option "[^"]+" /, '');
  if (!source) return error.message;
  // Inside JSON (a routing table, a config file) the option's path says where to look.
  return error.option === root || source.startsWith('--') && !source.startsWith('--config') && !source.startsWith('--upstreams')
    ? `${source} ${message}`
    : `${source}: ${error.option} ${message}`;
}
