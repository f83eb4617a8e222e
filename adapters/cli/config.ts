import { OPTIONS_SCHEMA } from '../../lib/options/schema.ts';
import { parseUpstream } from '../../lib/options/resolve.ts';
import type { RegistryProxyOptions } from '../../lib/options/types.ts';
import { FLAGS, type Flag, type FlagName } from './flags.ts';

export { usage } from './flags.ts';

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
  /** Where each option came from (`--upstream`, `REGISTRY_HOST`, `options.json`…), by option path, to name it in errors. */
  sources: Record<string, string>;
  /** The config files among `sources`. */
  fileSources: Set<string>;
  /** A JSON options file to read and merge under the flags (`--config`). */
  configFile: { path: string; source: string } | undefined;
  /** The cache store to build (`--cache`): a directory or `s3://bucket/prefix`, with its S3 endpoint. */
  cacheStore: { location: string; source: string; endpoint: string | undefined } | undefined;
  /** The cache settings from flags and variables, applied once the store is built. */
  cacheSettings: { maxSize?: number; tagFreshness?: number; staleIfError?: number; redirect?: boolean };
  /** A file whose contents are the upstream password (GOOGLE_APPLICATION_CREDENTIALS, *_FILE). */
  passwordFile: { path: string; source: string; username: string } | undefined;
  help: boolean;
  /** The operations listener (/metrics, /healthz, /readyz); off when undefined. */
  metricsPort: number | undefined;
  metricsHostname: string | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly source: string;

  constructor(source: string, message: string) {
    super(`${source} ${message}`);
    this.source = source;
  }
}

function parseArgv(argv: string[]): Map<string, string> {
  const byFlag = new Map<string, Flag>((FLAGS as readonly Flag[]).map((flag) => [flag.flag, flag]));
  const values = new Map<string, string>();
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '-h') {
      values.set('help', 'true');
      continue;
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const flag = match ? byFlag.get(match[1]!) : undefined;
    if (!match || !flag) throw new ConfigError(arg, 'is not a known option (see --help)');
    if (flag.value === 'switch') {
      values.set(flag.flag, match[2] ?? 'true');
    } else if (match[2] !== undefined) {
      values.set(flag.flag, match[2]);
    } else {
      const next = argv[++index];
      if (next === undefined) throw new ConfigError(`--${flag.flag}`, 'needs a value');
      values.set(flag.flag, next);
    }
  }
  return values;
}

function parseBoolean(source: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(source, `must be true or false, got ${JSON.stringify(value)}`);
}

/** A setting's text as the value its table entry says it is. */
function convert(flag: Flag, found: Found): unknown {
  const { value: text, source } = found;
  const kind = flag.value;
  if (kind === 'text') return text;
  // DISABLE_BROWSER_REDIRECTS: the Go proxy treats any non-empty value as "on".
  if (kind === 'switch') return source === 'DISABLE_BROWSER_REDIRECTS' || parseBoolean(source, text);
  if (kind === 'json') return parseJson(source, text);
  if (kind === 'positive') {
    if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) throw new ConfigError(source, `must be a number > 0, got ${JSON.stringify(text)}`);
    return Number(text);
  }
  if ('oneOf' in kind) {
    if (!kind.oneOf.includes(text)) {
      throw new ConfigError(source, `must be ${kind.oneOf.slice(0, -1).join(', ')} or ${kind.oneOf.at(-1)}, got ${JSON.stringify(text)}`);
    }
    return text;
  }
  const [min, max] = kind.integer;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ConfigError(source, `must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** Sets `timeouts.headers` in `{ timeouts: { … } }`. */
function setOption(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let object = target;
  for (const key of keys.slice(0, -1)) object = (object[key] ??= {}) as Record<string, unknown>;
  object[keys.at(-1)!] = value;
}

interface Found {
  value: string;
  /** `--upstream` or the variable's name. */
  source: string;
}

export function parseConfig(argv: string[], env: Record<string, string | undefined>): CliConfig {
  const flags = parseArgv(argv);
  const sources: Record<string, string> = {};
  const table = new Map<string, Flag>((FLAGS as readonly Flag[]).map((flag) => [flag.flag, flag]));
  const read = (name: FlagName): Found | undefined => {
    const flag = table.get(name)!;
    const flagValue = flags.get(flag.flag);
    if (flagValue !== undefined) return { value: flagValue, source: `--${flag.flag}` };
    for (const variable of flag.env) {
      const value = env[variable];
      if (value !== undefined && value !== '') return { value, source: variable };
    }
    return undefined;
  };
  const valueOf = <T>(name: FlagName): { value: T; source: string } | undefined => {
    const found = read(name);
    return found && { value: convert(table.get(name)!, found) as T, source: found.source };
  };

  // Every flag that sets one library option does it the same way, from the table; where two set
  // the same option, the later one wins (`--no-browser-redirect` over `--browser-redirect`).
  const proxy: Record<string, unknown> = {};
  for (const flag of FLAGS as readonly Flag[]) {
    if (flag.option === undefined) continue;
    const found = valueOf<unknown>(flag.flag as FlagName);
    if (found === undefined) continue;
    if (flag.value === 'switch') {
      if (found.value !== true) continue; // `--allow-push=false` leaves the default
      setOption(proxy, flag.option, flag.set);
    } else {
      setOption(proxy, flag.option, found.value);
    }
    sources[flag.option] = found.source;
  }

  // The credential flags combine into one option.
  let passwordFile: CliConfig['passwordFile'];
  const username = read('username');
  const password = read('password');
  const passwordFromFile = read('password-file');
  const authHeader = read('auth-header');
  const googleCredentials = read('google-credentials');
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

  if (proxy.browserRedirect === undefined && sources.upstream === 'REGISTRY_HOST') {
    // The Go proxy sends browsers to the upstream's web page for the repository.
    const target = browserRedirectFor(String(proxy.upstream), proxy.repositoryPrefix as string | undefined);
    if (target !== undefined) {
      proxy.browserRedirect = target;
      sources.browserRedirect = 'REGISTRY_HOST';
    }
  }

  // The cache flags build a store (`cacheFromConfig`), merged over the config file's `cache`.
  const cache = read('cache');
  const cacheSettings: CliConfig['cacheSettings'] = {};
  const cacheMaxSize = read('cache-max-size');
  if (cacheMaxSize) cacheSettings.maxSize = parseSize(cacheMaxSize.source, cacheMaxSize.value);
  const tagFreshness = valueOf<number>('cache-tag-freshness');
  if (tagFreshness) cacheSettings.tagFreshness = tagFreshness.value;
  const staleIfError = valueOf<number>('cache-stale-if-error');
  if (staleIfError) cacheSettings.staleIfError = staleIfError.value;
  if (valueOf<boolean>('cache-redirect')?.value === true) cacheSettings.redirect = true;
  if (cache) sources.cache = cache.source;

  const configFile = read('config');

  // Rates need their rate; a queue timeout needs the cap it queues for.
  const limits = proxy.rateLimits as { requests?: { perSecond?: number }; blobBytes?: { perSecond?: number } } | undefined;
  if (limits?.requests && limits.requests.perSecond === undefined) throw new ConfigError(read('rate-limit-burst')!.source, 'needs its rate (--rate-limit)');
  if (limits?.blobBytes && limits.blobBytes.perSecond === undefined) {
    throw new ConfigError((read('blob-rate-burst') ?? read('blob-rate-mode'))!.source, 'needs its rate (--blob-rate-limit)');
  }
  if (proxy.concurrency && (proxy.concurrency as { limit?: number }).limit === undefined) {
    throw new ConfigError(read('upstream-queue-timeout')!.source, 'needs --upstream-concurrency');
  }
  const host = read('host');
  if (host) sources.host = host.source; // named when the address cannot be listened on
  return {
    proxy: proxy as RegistryProxyOptions,
    port: valueOf<number>('port')?.value ?? 8080,
    hostname: host?.value ?? '0.0.0.0',
    log: valueOf<CliConfig['log']>('log')?.value ?? 'text',
    sources,
    fileSources: new Set(),
    passwordFile,
    cacheStore: cache && { location: cache.value, source: cache.source, endpoint: read('cache-endpoint')?.value },
    cacheSettings,
    configFile: configFile && { path: configFile.value, source: configFile.source },
    help: valueOf<boolean>('help')?.value ?? false,
    metricsPort: valueOf<number>('metrics-port')?.value,
    metricsHostname: read('metrics-host')?.value,
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** `50GiB`, `500MB`, `1.5TiB` or plain bytes. */
export function parseSize(source: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  const bytes = match && unit ? Math.floor(Number(match[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new ConfigError(source, `must be a size like 50GiB, 500MB or a number of bytes, got ${JSON.stringify(value)}`);
  }
  return bytes;
}

/**
 * `https://gcr.io/my-project` for `REGISTRY_HOST=gcr.io`, as the Go proxy does; from a URL
 * (`http://127.0.0.1:5000`) its origin. None when the value is not a registry address: the
 * proxy then refuses it as its upstream anyway.
 */
function browserRedirectFor(upstream: string, prefix: string | undefined): string | undefined {
  let origin: string;
  try {
    origin = /^[a-z][a-z0-9+.-]*:\/\//i.test(upstream) ? parseUpstream(upstream).origin : new URL(`https://${upstream}`).origin;
  } catch {
    return undefined;
  }
  return `${origin}/${(prefix ?? '').replace(/^\/+/, '')}`;
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
 * Errors name the file as the user gave it (`options.json: redirects must be …`).
 */
export function applyConfigFile(config: CliConfig, text: string, env: Record<string, string | undefined>): void {
  const file = config.configFile!.path;
  const options = parseJson(file, text);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new ConfigError(file, 'must hold a JSON object of options');
  for (const key of Object.keys(options)) {
    // The command's own settings are flags and variables: say so instead of "not a known option".
    if (key in OPTIONS_SCHEMA) continue; // an option of the library (`cache`), which a flag may also build
    const flag = (FLAGS as readonly Flag[]).find((candidate) => candidate.option === undefined && candidate.flag === key);
    if (flag) throw new ConfigError(`${file}:`, `${key} is set by --${flag.flag} or ${flag.env.join(' / ')}, not in the config file`);
  }
  const record = options as Record<string, unknown>;
  const routes = Array.isArray(record.upstreams) ? (record.upstreams as Record<string, unknown>[]) : [];
  for (const [index, route] of routes.entries()) {
    const credentials = route?.credentials as Record<string, unknown> | undefined;
    if (credentials && typeof credentials.passwordEnv === 'string') {
      const password = env[credentials.passwordEnv];
      if (password === undefined) {
        throw new ConfigError(`${file}:`, `upstreams[${index}].credentials.passwordEnv names ${credentials.passwordEnv}, which is not set`);
      }
      const { passwordEnv: _passwordEnv, ...rest } = credentials;
      route.credentials = { ...rest, password };
    }
  }
  for (const key of Object.keys(record)) {
    if (!Object.keys(config.sources).some((option) => option === key || option.startsWith(`${key}.`))) config.sources[key] = file;
  }
  config.fileSources.add(file);
  config.proxy = mergeUnder(config.proxy as Record<string, unknown>, record) as RegistryProxyOptions;
}

/** Options that flags set one part of (`--timeout` sets `timeouts.headers`). */
const NESTED_BY_FLAGS = new Set((FLAGS as readonly Flag[]).flatMap((flag) => (flag.option?.includes('.') ? [flag.option.split('.')[0]!] : [])));

/** Flags over file; `--timeout` keeps the file's `timeouts.idle`. */
function mergeUnder(over: Record<string, unknown>, under: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...under, ...over };
  for (const key of NESTED_BY_FLAGS) {
    if (isObject(over[key]) && isObject(under[key])) merged[key] = { ...under[key], ...over[key] };
  }
  return merged;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Names the flag, variable or file behind an option in a creation error, once:
 * `--redirects must be …`, `options.json: upstreams[2].namespace is not a known option…`,
 * `--allow-push: readOnly must stay true …`.
 */
export function describeOptionError(error: { option: string; message: string }, config: CliConfig): string {
  const message = error.message.replace(/^registry-proxy: option "[^"]+" /, '');
  // The most specific option with a known source: `timeouts.headers` before `timeouts`.
  const owner = Object.keys(config.sources)
    .filter((option) => error.option === option || error.option.startsWith(`${option}.`) || error.option.startsWith(`${option}[`))
    .sort((a, b) => b.length - a.length)[0];
  const source = owner === undefined ? undefined : config.sources[owner];
  if (source === undefined) return `${error.option} ${message}`;
  // A flag or variable that holds the option's value itself reads as the option.
  const holdsValue = owner === error.option && !config.fileSources.has(source) && !isSwitch(source) && !isJson(source);
  return holdsValue ? `${source} ${message}` : `${source}: ${error.option} ${message}`;
}

/** A creation warning (`option "deny[0].repository" …`) with the option's source, as errors have it. */
export function describeOptionWarning(message: string, config: CliConfig): string {
  const match = /^option "([^"]+)" (.*)$/s.exec(message);
  return match ? describeOptionError({ option: match[1]!, message: match[2]! }, config) : message;
}

function flagOfSource(source: string): Flag | undefined {
  return (FLAGS as readonly Flag[]).find((flag) => `--${flag.flag}` === source || flag.env.includes(source));
}

function isSwitch(source: string): boolean {
  return flagOfSource(source)?.value === 'switch';
}

function isJson(source: string): boolean {
  return flagOfSource(source)?.value === 'json';
}
