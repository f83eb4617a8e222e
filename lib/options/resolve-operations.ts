import { RegistryProxyOptionsError } from './error.ts';
import type {
  BucketSpec,
  Clock,
  ClientRateLimits,
  MetricsOptions,
  ReadinessOptions,
  RegistryProxyOptions,
  ResolvedRateLimits,
  UpstreamConcurrency,
} from './types.ts';

/** Validation of the options that run the proxy in production: metrics, health, limits, tracing. */

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positive(option: string, value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new RegistryProxyOptionsError(option, `must be a number of ${what} > 0, got ${String(value)}`);
  }
  return value;
}

function milliseconds(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RegistryProxyOptionsError(option, `must be a number of milliseconds >= 0, got ${String(value)}`);
  }
  return value;
}

function bucket(option: string, value: unknown, unit: string): BucketSpec {
  if (!isObject(value)) throw new RegistryProxyOptionsError(option, `must be { perSecond, burst? }, got ${JSON.stringify(value)}`);
  const perSecond = positive(`${option}.perSecond`, value.perSecond, `${unit} per second`);
  const burst = value.burst === undefined ? perSecond : positive(`${option}.burst`, value.burst, unit);
  return { perSecond, burst };
}

export function resolveRateLimits(value: ClientRateLimits | undefined, option: string): ResolvedRateLimits | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new RegistryProxyOptionsError(option, 'must be { requests?, blobBytes? }');
  for (const key of Object.keys(value)) {
    if (key !== 'requests' && key !== 'blobBytes') throw new RegistryProxyOptionsError(`${option}.${key}`, 'is not a rate limit (requests, blobBytes)');
  }
  const requests = value.requests === undefined ? undefined : bucket(`${option}.requests`, value.requests, 'requests');
  let blobBytes: ResolvedRateLimits['blobBytes'];
  if (value.blobBytes !== undefined) {
    const spec = bucket(`${option}.blobBytes`, value.blobBytes, 'bytes');
    const mode = (value.blobBytes as { mode?: unknown }).mode ?? 'pace';
    if (mode !== 'pace' && mode !== 'reject') {
      throw new RegistryProxyOptionsError(`${option}.blobBytes.mode`, `must be "pace" or "reject", got ${JSON.stringify(mode)}`);
    }
    blobBytes = { ...spec, mode };
  }
  return requests || blobBytes ? { requests, blobBytes } : undefined;
}

export function resolveConcurrency(value: UpstreamConcurrency | undefined, option: string): Required<UpstreamConcurrency> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new RegistryProxyOptionsError(option, 'must be { limit, queueTimeout? }');
  if (typeof value.limit !== 'number' || !Number.isInteger(value.limit) || value.limit < 1) {
    throw new RegistryProxyOptionsError(`${option}.limit`, `must be a whole number >= 1, got ${String(value.limit)}`);
  }
  return { limit: value.limit, queueTimeout: milliseconds(`${option}.queueTimeout`, value.queueTimeout, 10_000) };
}

function resolveMetrics(value: boolean | MetricsOptions | undefined): Required<MetricsOptions> | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { repositoryLabels: false, maxRepositories: 200 };
  if (!isObject(value)) throw new RegistryProxyOptionsError('metrics', 'must be true, false or { repositoryLabels?, maxRepositories? }');
  if (value.repositoryLabels !== undefined && typeof value.repositoryLabels !== 'boolean') {
    throw new RegistryProxyOptionsError('metrics.repositoryLabels', 'must be true or false');
  }
  const maxRepositories = (value.maxRepositories ?? 200) as number;
  if (!Number.isInteger(maxRepositories) || maxRepositories < 1) {
    throw new RegistryProxyOptionsError('metrics.maxRepositories', `must be a whole number >= 1, got ${String(maxRepositories)}`);
  }
  return { repositoryLabels: value.repositoryLabels ?? false, maxRepositories };
}

function resolveHealthPath(value: string | false | undefined): string | undefined {
  if (value === undefined || value === false) return undefined;
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(value) || value.startsWith('/v2/') || value === '/v2') {
    throw new RegistryProxyOptionsError('healthPath', `must be an absolute path outside /v2/, e.g. "/-", got ${JSON.stringify(value)}`);
  }
  return value.replace(/\/+$/, '');
}

function resolveReadiness(value: ReadinessOptions | undefined): Required<ReadinessOptions> {
  if (value !== undefined && !isObject(value)) throw new RegistryProxyOptionsError('readiness', 'must be { maxAge?, timeout? }');
  return {
    maxAge: milliseconds('readiness.maxAge', value?.maxAge, 30_000),
    timeout: milliseconds('readiness.timeout', value?.timeout, 2_000),
  };
}

const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', stop);
        resolve();
      }, ms);
      const stop = () => {
        clearTimeout(timer);
        resolve();
      };
      signal?.addEventListener('abort', stop, { once: true });
    }),
};

function resolveClock(value: Clock | undefined): Clock {
  if (value === undefined) return systemClock;
  if (!isObject(value) || typeof value.now !== 'function' || typeof value.sleep !== 'function') {
    throw new RegistryProxyOptionsError('clock', 'must be { now(), sleep(ms, signal?) }');
  }
  return value;
}

export function resolveOperations(options: RegistryProxyOptions) {
  const store = options.rateLimitStore;
  if (store !== undefined && (!isObject(store) || typeof store.tryTake !== 'function' || typeof store.take !== 'function' || typeof store.debt !== 'function')) {
    throw new RegistryProxyOptionsError('rateLimitStore', 'must implement tryTake, take and debt');
  }
  if (options.tracing !== undefined && typeof options.tracing !== 'boolean') throw new RegistryProxyOptionsError('tracing', 'must be true or false');
  return {
    metrics: resolveMetrics(options.metrics),
    healthPath: resolveHealthPath(options.healthPath),
    readiness: resolveReadiness(options.readiness),
    rateLimits: resolveRateLimits(options.rateLimits, 'rateLimits'),
    rateLimitStore: store,
    tracing: options.tracing ?? true,
    clock: resolveClock(options.clock),
  };
}
