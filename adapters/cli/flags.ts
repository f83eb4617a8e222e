/**
 * The one table of the CLI's settings: each flag, its environment variables, what it sets and
 * its help text. `parseConfig` reads flags and variables from it, `usage()` prints it as
 * `--help`, and the README's command-line table is generated from it (scripts/readme.ts), so
 * the three cannot disagree.
 */

/** How a setting's text becomes a value. */
export type FlagValue =
  /** Taken as it is. */
  | 'text'
  /** A switch: `--allow-push`, or `true`/`false`/`1`/`0`/… in a variable. */
  | 'switch'
  /** A whole number within the range. */
  | { integer: readonly [min: number, max: number] }
  /** One of these words. */
  | { oneOf: readonly string[] }
  /** JSON. */
  | 'json'
  /** A number above zero (rates). */
  | 'positive';

export interface Flag {
  /** `upstream` is `--upstream`. */
  flag: string;
  /** Variables, first wins; the Go serverless-registry-proxy's names come last. */
  env: readonly string[];
  value: FlagValue;
  /** The placeholder in `--help` (`--upstream <url|host>`). */
  placeholder?: string;
  /**
   * The library option this sets (`timeouts.headers`), with `set` the value a switch gives it.
   * Absent for settings of the command itself (port, log, …) and those `parseConfig` combines
   * (the credential flags).
   */
  option?: string;
  set?: unknown;
  description: string;
}

export const FLAGS = [
  { flag: 'upstream', env: ['REGISTRY_PROXY_UPSTREAM', 'REGISTRY_HOST'], value: 'text', placeholder: '<url|host>', option: 'upstream', description: 'registry to front: URL or host (default docker.io)' },
  { flag: 'prefix', env: ['REGISTRY_PROXY_PREFIX', 'REPO_PREFIX'], value: 'text', placeholder: '<path>', option: 'repositoryPrefix', description: 'repository prefix added upstream, e.g. my-project/my-repo' },
  { flag: 'username', env: ['REGISTRY_PROXY_USERNAME'], value: 'text', placeholder: '<name>', description: 'upstream username held by the proxy' },
  { flag: 'password', env: ['REGISTRY_PROXY_PASSWORD'], value: 'text', placeholder: '<secret>', description: 'upstream password held by the proxy' },
  { flag: 'password-file', env: ['REGISTRY_PROXY_PASSWORD_FILE'], value: 'text', placeholder: '<file>', description: 'file holding the upstream password' },
  { flag: 'auth-header', env: ['REGISTRY_PROXY_AUTH_HEADER', 'AUTH_HEADER'], value: 'text', placeholder: '<value>', description: 'literal upstream Authorization value ("Basic …" / "Bearer …")' },
  { flag: 'google-credentials', env: ['GOOGLE_APPLICATION_CREDENTIALS'], value: 'text', placeholder: '<file>', description: 'service-account JSON key file, sent as _json_key (GCR / Artifact Registry)' },
  { flag: 'redirects', env: ['REGISTRY_PROXY_REDIRECTS'], value: { oneOf: ['pass', 'follow'] }, placeholder: '<pass|follow>', option: 'redirects', description: 'what to do with upstream blob redirects (default pass)' },
  { flag: 'browser-redirect', env: ['REGISTRY_PROXY_BROWSER_REDIRECT'], value: 'text', placeholder: '<url>', option: 'browserRedirect', description: 'URL that GET / redirects browsers to' },
  { flag: 'no-browser-redirect', env: ['DISABLE_BROWSER_REDIRECTS'], value: 'switch', option: 'browserRedirect', set: false, description: 'no browser redirect (any non-empty DISABLE_BROWSER_REDIRECTS)' },
  { flag: 'allow-push', env: ['REGISTRY_PROXY_ALLOW_PUSH'], value: 'switch', option: 'readOnly', set: false, description: 'pass writes (push) through instead of 405' },
  { flag: 'public-url', env: ['REGISTRY_PROXY_PUBLIC_URL'], value: 'text', placeholder: '<url>', option: 'publicUrl', description: 'the public URL clients use, for token realms' },
  { flag: 'trust-forwarded', env: ['REGISTRY_PROXY_TRUST_FORWARDED'], value: 'switch', option: 'trustForwardedHeaders', set: true, description: 'honour X-Forwarded-Proto/-Host' },
  { flag: 'token-path', env: ['REGISTRY_PROXY_TOKEN_PATH'], value: 'text', placeholder: '<path>', option: 'tokenPath', description: 'path of the proxy token endpoint (default /_token)' },
  { flag: 'timeout', env: ['REGISTRY_PROXY_TIMEOUT'], value: { integer: [1, 3_600_000] }, placeholder: '<ms>', option: 'timeouts.headers', description: 'ms to wait for upstream headers (default 30000)' },
  { flag: 'idle-timeout', env: ['REGISTRY_PROXY_IDLE_TIMEOUT'], value: { integer: [0, 3_600_000] }, placeholder: '<ms>', option: 'timeouts.idle', description: 'ms a body may stall before it is aborted (default 60000, 0 = off)' },
  { flag: 'cache', env: ['REGISTRY_PROXY_CACHE'], value: 'text', placeholder: '<dir|s3://bucket/prefix>', description: 'pull-through cache: a directory, or s3://bucket/prefix (AWS_* credentials)' },
  { flag: 'cache-max-size', env: ['REGISTRY_PROXY_CACHE_MAX_SIZE'], value: 'text', placeholder: '<size>', description: 'bytes the cache keeps, e.g. 50GiB (default 10GiB)' },
  { flag: 'cache-endpoint', env: ['REGISTRY_PROXY_CACHE_ENDPOINT'], value: 'text', placeholder: '<url>', description: 'S3-compatible endpoint for s3:// caches (MinIO, R2, GCS)' },
  { flag: 'cache-tag-freshness', env: ['REGISTRY_PROXY_CACHE_TAG_FRESHNESS'], value: { integer: [0, 31_536_000] }, placeholder: '<s>', description: 'seconds a tag is served without a HEAD upstream (default 0)' },
  { flag: 'cache-stale-if-error', env: ['REGISTRY_PROXY_CACHE_STALE_IF_ERROR'], value: { integer: [0, 31_536_000] }, placeholder: '<s>', description: 'seconds stale tags are served while upstream fails (default 604800)' },
  { flag: 'cache-redirect', env: ['REGISTRY_PROXY_CACHE_REDIRECT'], value: 'switch', description: 'answer s3:// cache hits with a presigned redirect' },
  { flag: 'metrics-port', env: ['REGISTRY_PROXY_METRICS_PORT'], value: { integer: [0, 65535] }, placeholder: '<port>', description: 'serve /metrics, /healthz, /readyz on this port (default off)' },
  { flag: 'metrics-host', env: ['REGISTRY_PROXY_METRICS_HOST'], value: 'text', placeholder: '<address>', description: 'listen address of the metrics port (default: --host)' },
  { flag: 'metrics-repository-labels', env: ['REGISTRY_PROXY_METRICS_REPOSITORY_LABELS'], value: 'switch', option: 'metrics.repositoryLabels', set: true, description: 'add a repository label to request and byte counters' },
  { flag: 'health-path', env: ['REGISTRY_PROXY_HEALTH_PATH'], value: 'text', placeholder: '<path>', option: 'healthPath', description: 'also serve healthz/readyz on the main port under this path, e.g. /-' },
  { flag: 'ready-max-age', env: ['REGISTRY_PROXY_READY_MAX_AGE'], value: { integer: [0, 86_400_000] }, placeholder: '<ms>', option: 'readiness.maxAge', description: 'ms an upstream answer keeps /readyz ready before /v2/ is asked (default 30000)' },
  { flag: 'rate-limit', env: ['REGISTRY_PROXY_RATE_LIMIT'], value: 'positive', placeholder: '<n>', option: 'rateLimits.requests.perSecond', description: 'requests per second per client (default off)' },
  { flag: 'rate-limit-burst', env: ['REGISTRY_PROXY_RATE_LIMIT_BURST'], value: 'positive', placeholder: '<n>', option: 'rateLimits.requests.burst', description: "requests a client may save up (default one second's worth)" },
  { flag: 'blob-rate-limit', env: ['REGISTRY_PROXY_BLOB_RATE_LIMIT'], value: 'positive', placeholder: '<bytes>', option: 'rateLimits.blobBytes.perSecond', description: 'blob bytes per second per client (default off)' },
  { flag: 'blob-rate-burst', env: ['REGISTRY_PROXY_BLOB_RATE_BURST'], value: 'positive', placeholder: '<bytes>', option: 'rateLimits.blobBytes.burst', description: "blob bytes a client may save up (default one second's worth)" },
  { flag: 'blob-rate-mode', env: ['REGISTRY_PROXY_BLOB_RATE_MODE'], value: { oneOf: ['pace', 'reject'] }, placeholder: '<pace|reject>', option: 'rateLimits.blobBytes.mode', description: 'slow blob streams or refuse new ones (default pace)' },
  { flag: 'upstream-concurrency', env: ['REGISTRY_PROXY_UPSTREAM_CONCURRENCY'], value: { integer: [1, 100_000] }, placeholder: '<n>', option: 'concurrency.limit', description: 'requests in flight to each upstream at most (default no cap)' },
  { flag: 'upstream-queue-timeout', env: ['REGISTRY_PROXY_UPSTREAM_QUEUE_TIMEOUT'], value: { integer: [0, 3_600_000] }, placeholder: '<ms>', option: 'concurrency.queueTimeout', description: 'ms a request waits for an upstream slot before 503 (default 10000)' },
  { flag: 'no-tracing', env: ['REGISTRY_PROXY_NO_TRACING'], value: 'switch', option: 'tracing', set: false, description: 'no traceparent upstream, no X-Request-Id' },
  { flag: 'upstreams', env: ['REGISTRY_PROXY_UPSTREAMS'], value: 'json', placeholder: '<json>', option: 'upstreams', description: 'the routing table of several upstreams, as JSON' },
  { flag: 'config', env: ['REGISTRY_PROXY_CONFIG'], value: 'text', placeholder: '<file>', description: 'JSON file of options (routes, users, rules, …), under the flags' },
  { flag: 'port', env: ['REGISTRY_PROXY_PORT', 'PORT'], value: { integer: [0, 65535] }, placeholder: '<port>', description: 'listen port (default 8080)' },
  { flag: 'host', env: ['REGISTRY_PROXY_HOST', 'HOST'], value: 'text', placeholder: '<address>', description: 'listen address (default 0.0.0.0)' },
  { flag: 'log', env: ['REGISTRY_PROXY_LOG'], value: { oneOf: ['text', 'json', 'off'] }, placeholder: '<text|json|off>', description: 'access log format (default text)' },
  { flag: 'help', env: [], value: 'switch', description: 'show this help' },
] as const satisfies readonly Flag[];

export type FlagName = (typeof FLAGS)[number]['flag'];

/**
 * Options that have no flag: they are set in the `--config` file (or, for `upstreams`, as JSON),
 * each with the README section that explains it.
 */
export const FILE_ONLY_SETTINGS = [
  { what: 'upstreams: routes by host, path prefix or ns', section: 'Many registries in one proxy' },
  { what: 'allow / deny: access rules, per route', section: 'Access rules' },
  { what: 'auth: users, password hashes, token secret', section: "The proxy's own users and tokens" },
  { what: 'credentials of a route, with passwordEnv', section: 'Many registries in one proxy' },
  { what: 'officialImages, anonymousPull, timeouts, …', section: 'Options' },
] as const;

/** The commands besides serving. */
export const COMMANDS = [
  { usage: 'registry-proxy hash-password [--iterations N] < password.txt', description: 'print a hash for auth.users (password on standard input)', section: "The proxy's own users and tokens" },
] as const;

export function flagSyntax(flag: Flag): string {
  return `--${flag.flag}${flag.placeholder ? ` ${flag.placeholder}` : ''}`;
}

/** `--help`. */
export function usage(): string {
  const lines = ['Usage: registry-proxy [options]', ...COMMANDS.map((command) => `       ${command.usage}`), ''];
  lines.push('Options (each also an environment variable; flags win over variables, variables over the config file):');
  for (const flag of FLAGS as readonly Flag[]) {
    const env = flag.env.length ? ` [${flag.env.join(', ')}]` : '';
    lines.push(`  ${flagSyntax(flag).padEnd(32)} ${flag.description}${env}`);
  }
  lines.push('', 'Commands:');
  for (const command of COMMANDS) lines.push(`  ${command.usage.padEnd(60)} ${command.description} (README: "${command.section}")`);
  lines.push('', 'Only in the --config file (JSON options, see README):');
  for (const setting of FILE_ONLY_SETTINGS) lines.push(`  ${setting.what.padEnd(46)} README: "${setting.section}"`);
  lines.push('', 'The README sections named are in README.md, which the package ships.');
  return lines.join('\n');
}
