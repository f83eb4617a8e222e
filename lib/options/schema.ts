import { RegistryProxyOptionsError } from './error.ts';
import type {
  AccessRule,
  BucketLimit,
  ClientRateLimits,
  MetricsOptions,
  ReadinessOptions,
  UpstreamConcurrency,
  CacheOptions,
  RouteCacheSettings,
  ClientAuthOptions,
  ProxyUser,
  RegistryProxyOptions,
  RegistryProxyTimeouts,
  UpstreamCredentials,
  UpstreamRoute,
  UpstreamSettings,
} from './types.ts';

/**
 * The keys each options object may hold, one schema per object, so an unknown key (a typo like
 * `upstram`, or `namespace` for `namespaces`) fails at creation instead of being ignored. The
 * values are checked by resolve.ts; this only knows the shape. Each schema `satisfies` its type
 * with every key required: adding an option to types.ts without adding it here (or the other way
 * round) fails the type check.
 */
type Shape =
  /** A value resolve.ts checks. */
  | 'value'
  /** An object with these keys (checked only when the value is a plain object). */
  | { object: Schema }
  /** A list of such objects. */
  | { list: Schema }
  /** An object keyed by free names (user names), each value such an object. */
  | { record: Schema };
type Schema = Readonly<Record<string, Shape>>;

/** Every key of every member of a union (`{ username, password } | { authorization }`). */
type KeysOfAll<T> = T extends unknown ? keyof T : never;
type SchemaOf<T> = { readonly [K in KeysOfAll<T>]-?: Shape };

const ACCESS_RULE = { repository: 'value', tags: 'value' } as const satisfies SchemaOf<AccessRule>;

const CREDENTIALS = { username: 'value', password: 'value', authorization: 'value' } as const satisfies SchemaOf<UpstreamCredentials>;

const UPSTREAM_SETTINGS = {
  upstream: 'value',
  repositoryPrefix: 'value',
  officialImages: 'value',
  credentials: { object: CREDENTIALS },
  redirects: 'value',
  readOnly: 'value',
  allow: { list: ACCESS_RULE },
  deny: { list: ACCESS_RULE },
  anonymousPull: 'value',
} as const satisfies SchemaOf<UpstreamSettings>;

const ROUTE_CACHE = { tagFreshness: 'value', staleIfError: 'value', listFreshness: 'value' } as const satisfies SchemaOf<RouteCacheSettings>;

const CACHE = {
  ...ROUTE_CACHE,
  store: 'value',
  maxSize: 'value',
  redirect: 'value',
  onEvent: 'value',
} as const satisfies SchemaOf<CacheOptions>;

const BUCKET = { perSecond: 'value', burst: 'value' } as const satisfies SchemaOf<BucketLimit>;
const RATE_LIMITS = {
  requests: { object: BUCKET },
  blobBytes: { object: { ...BUCKET, mode: 'value' } },
} as const satisfies SchemaOf<ClientRateLimits>;
const CONCURRENCY = { limit: 'value', queueTimeout: 'value' } as const satisfies SchemaOf<UpstreamConcurrency>;

const ROUTE = {
  ...UPSTREAM_SETTINGS,
  name: 'value',
  hosts: 'value',
  pathPrefix: 'value',
  namespaces: 'value',
  cache: { object: ROUTE_CACHE },
  rateLimits: { object: RATE_LIMITS },
  concurrency: { object: CONCURRENCY },
} as const satisfies SchemaOf<UpstreamRoute>;

const USER = { passwordHash: 'value', pull: 'value', push: 'value' } as const satisfies SchemaOf<ProxyUser>;

const CLIENT_AUTH = {
  users: { record: USER },
  tokenSecret: 'value',
  tokenTtl: 'value',
  service: 'value',
} as const satisfies SchemaOf<ClientAuthOptions>;

const TIMEOUTS = { headers: 'value', idle: 'value' } as const satisfies SchemaOf<RegistryProxyTimeouts>;

/** The options of `createRegistryProxy`: a new option is one line here and its type in types.ts. */
export const OPTIONS_SCHEMA = {
  ...UPSTREAM_SETTINGS,
  upstreams: { list: ROUTE },
  auth: { object: CLIENT_AUTH },
  browserRedirect: 'value',
  tokenPath: 'value',
  publicUrl: 'value',
  trustForwardedHeaders: 'value',
  timeouts: { object: TIMEOUTS },
  cache: { object: CACHE },
  metrics: { object: { repositoryLabels: 'value', maxRepositories: 'value' } satisfies SchemaOf<MetricsOptions> },
  healthPath: 'value',
  readiness: { object: { maxAge: 'value', timeout: 'value' } satisfies SchemaOf<ReadinessOptions> },
  rateLimits: { object: RATE_LIMITS },
  rateLimitStore: 'value',
  concurrency: { object: CONCURRENCY },
  tracing: 'value',
  clock: 'value',
  fetch: 'value',
  onError: 'value',
  onWarning: 'value',
} as const satisfies SchemaOf<RegistryProxyOptions>;

/** The keys only a route knows, for a hint when one is used at the top level. */
const ROUTE_ONLY_KEYS = Object.keys(ROUTE).filter((key) => !(key in OPTIONS_SCHEMA));

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known key a typo most likely meant, if any is close enough to be worth saying. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const score = candidate.toLowerCase() === key.toLowerCase() ? 0 : distance(key, candidate);
    if (score < bestDistance) [best, bestDistance] = [candidate, score];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function checkObject(value: Record<string, unknown>, schema: Schema, at: string): void {
  const known = Object.keys(schema);
  for (const key of Object.keys(value)) {
    const path = at === '' ? key : `${at}.${key}`;
    const shape = schema[key];
    if (shape === undefined) {
      const suggestion = closestKey(key, known);
      const hint =
        suggestion !== undefined
          ? `; did you mean "${suggestion}"?`
          : at === '' && ROUTE_ONLY_KEYS.includes(key)
            ? '; it belongs to a route in "upstreams"'
            : '';
      throw new RegistryProxyOptionsError(path, `is not a known option${hint}`);
    }
    checkShape(value[key], shape, path);
  }
}

function checkShape(value: unknown, shape: Shape, at: string): void {
  if (shape === 'value') return;
  // A value of the wrong kind (a list where an object belongs) is for resolve.ts to name.
  if ('object' in shape) {
    if (isPlainObject(value)) checkObject(value, shape.object, at);
  } else if ('list' in shape) {
    if (Array.isArray(value)) value.forEach((item, index) => isPlainObject(item) && checkObject(item, shape.list, `${at}[${index}]`));
  } else if (isPlainObject(value)) {
    for (const [name, item] of Object.entries(value)) if (isPlainObject(item)) checkObject(item, shape.record, `${at}.${name}`);
  }
}

/** Throws a `RegistryProxyOptionsError` naming the full path of the first unknown key (`upstreams[2].namespace`). */
export function checkKnownKeys(options: object): void {
  if (isPlainObject(options)) checkObject(options, OPTIONS_SCHEMA, '');
}
