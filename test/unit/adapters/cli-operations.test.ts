/** The CLI flags and variables of issue 13: metrics listener, health, limits, concurrency, tracing. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, usage } from '../../../adapters/cli/config.ts';
import { prepareServe } from '../../../adapters/serve-options.ts';
import { resolveOptions } from '../../../lib/options/resolve.ts';

describe('CLI operations flags', () => {
  it('off by default: no metrics port, no limits, tracing on', () => {
    const config = parseConfig([], {});
    expect(config.metricsPort).toBeUndefined();
    const resolved = resolveOptions(config.proxy);
    expect(resolved.metrics).toBeUndefined();
    expect(resolved.rateLimits).toBeUndefined();
    expect(resolved.routes[0]!.concurrency).toBeUndefined();
    expect(resolved.tracing).toBe(true);
  });

  it('reads every operations flag into options', () => {
    const config = parseConfig(
      [
        ...['--metrics-port', '9090', '--metrics-host', '127.0.0.1', '--metrics-repository-labels', '--health-path', '/-', '--ready-max-age', '5000'],
        ...['--rate-limit', '2.5', '--rate-limit-burst', '10', '--blob-rate-limit', '1000000', '--blob-rate-mode', 'reject'],
        ...['--upstream-concurrency', '8', '--upstream-queue-timeout', '2000', '--no-tracing'],
      ],
      {},
    );
    expect(config.metricsPort).toBe(9090);
    expect(config.metricsHostname).toBe('127.0.0.1');
    expect(config.proxy).toMatchObject({
      metrics: { repositoryLabels: true },
      healthPath: '/-',
      readiness: { maxAge: 5000 },
      rateLimits: { requests: { perSecond: 2.5, burst: 10 }, blobBytes: { perSecond: 1_000_000, mode: 'reject' } },
      concurrency: { limit: 8, queueTimeout: 2000 },
      tracing: false,
    });
    const resolved = resolveOptions(config.proxy);
    expect(resolved.rateLimits!.blobBytes).toEqual({ perSecond: 1_000_000, burst: 1_000_000, mode: 'reject' });
    expect(resolved.routes[0]!.concurrency).toEqual({ limit: 8, queueTimeout: 2000 });
  });

  it('reads the same from the environment', () => {
    const config = parseConfig([], { REGISTRY_PROXY_METRICS_PORT: '0', REGISTRY_PROXY_RATE_LIMIT: '5', REGISTRY_PROXY_UPSTREAM_CONCURRENCY: '4' });
    expect(config.metricsPort).toBe(0);
    expect(config.proxy.rateLimits).toEqual({ requests: { perSecond: 5 } });
    expect(config.proxy.concurrency).toEqual({ limit: 4 });
  });

  it.each([
    [['--metrics-port', '99999'], /^--metrics-port must be a whole number/],
    [['--rate-limit', '0'], /^--rate-limit must be a number > 0/],
    [['--rate-limit-burst', '5'], /^--rate-limit-burst needs its rate/],
    [['--blob-rate-limit', '10', '--blob-rate-mode', 'drop'], /^--blob-rate-mode must be pace or reject/],
    [['--upstream-queue-timeout', '10'], /^--upstream-queue-timeout needs --upstream-concurrency/],
  ])('refuses %j naming the flag', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(ConfigError);
    expect(() => parseConfig(argv, {})).toThrow(message);
  });

  it('--help lists the new flags', () => {
    for (const flag of ['--metrics-port', '--health-path', '--rate-limit', '--blob-rate-limit', '--upstream-concurrency', '--no-tracing']) expect(usage()).toContain(flag);
  });

  it('metricsPort turns metrics on, needs a proxy made by createRegistryProxy, and is validated', () => {
    const prepared = prepareServe({ upstream: 'ghcr.io', metricsPort: 0 });
    expect(prepared.metrics?.port).toBe(0);
    expect(prepareServe({ upstream: 'ghcr.io' }).metrics).toBeUndefined();
    expect(() => prepareServe({ handler: async () => new Response(null), metricsPort: 0 })).toThrow('"metricsPort"');
    expect(() => prepareServe({ metricsPort: -1 })).toThrow('"metricsPort"');
  });
});
