import type { Readiness } from '../health/readiness.ts';
import type { ConcurrencyLimit } from '../limits/concurrency.ts';
import type { ProxyMetrics, TokenFetchResult } from '../metrics/proxy-metrics.ts';
import type { Clock } from '../options/types.ts';
import { ociError } from '../protocol/errors.ts';
import { propagateTrace } from '../tracing/trace-context.ts';
import type { UpstreamObserver, UpstreamOutcome } from '../upstream/fetch.ts';
import { requestStateOf } from './request-state.ts';

export interface RouteObserverParts {
  route: string;
  clock: Clock;
  readiness: Readiness;
  metrics: ProxyMetrics | undefined;
  tracing: boolean;
  limit: ConcurrencyLimit | undefined;
}

function tokenResult(outcome: UpstreamOutcome): TokenFetchResult {
  if (typeof outcome !== 'number') return 'error';
  if (outcome >= 200 && outcome < 300) return 'ok';
  if (outcome === 401 || outcome === 403) return 'denied';
  return outcome === 429 ? 'rate_limited' : 'error';
}

/**
 * Watches one route's upstream exchanges: sends the request's trace context along, holds a
 * concurrency slot until the response headers arrive, and records what came back (metrics,
 * readiness, the request log's upstream status).
 */
export function createUpstreamObserver(parts: RouteObserverParts): UpstreamObserver {
  const { route, clock, readiness, metrics, tracing, limit } = parts;
  const duration = metrics?.upstreamDuration.labels(route);

  const finisher = (client: Request | undefined, purpose: 'registry' | 'token', release: (() => void) | undefined) => {
    const started = clock.now();
    return (outcome: UpstreamOutcome) => {
      release?.();
      const elapsed = clock.now() - started;
      if (typeof outcome === 'number' && outcome < 500) readiness.answered(route);
      if (metrics) {
        metrics.upstreamRequests.labels(route, String(outcome)).inc();
        duration!.observe(elapsed / 1000);
        if (outcome === 429) metrics.rateLimited.labels(route, 'upstream').inc();
        if (purpose === 'token') metrics.tokenFetches.labels(route, tokenResult(outcome)).inc();
      }
      const state = client && purpose === 'registry' ? requestStateOf(client) : undefined;
      if (state) {
        state.upstreamStatus = outcome;
        state.upstreamMs = elapsed;
      }
    };
  };

  return {
    begin(headers, { client, purpose }) {
      if (tracing && client) {
        const trace = requestStateOf(client)?.trace;
        if (trace) propagateTrace(trace, headers);
      }
      if (!limit) return finisher(client, purpose, undefined);
      const free = limit.tryAcquire();
      if (free) return finisher(client, purpose, free);
      return limit.acquire().then((release) => {
        if (!release) {
          metrics?.rateLimited.labels(route, 'concurrency').inc();
          const seconds = Math.max(1, Math.ceil(limit.queueTimeout / 1000));
          throw ociError('upstreamBusy', `upstream ${route} is busy: no slot came free within ${limit.queueTimeout} ms`, null, {
            'retry-after': String(seconds),
          });
        }
        return finisher(client, purpose, release);
      });
    },
  };
}
