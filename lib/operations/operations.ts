import type { ProxyContext } from '../context.ts';
import { Readiness, type ReadinessReport } from '../health/readiness.ts';
import { ConcurrencyLimit } from '../limits/concurrency.ts';
import { CONTENT_TYPES, negotiateFormat, renderExposition, type ExpositionFormat } from '../metrics/exposition.ts';
import { methodLabel, ProxyMetrics } from '../metrics/proxy-metrics.ts';
import { MetricsRegistry, type MetricsCollector } from '../metrics/registry.ts';
import type { ResolvedOptions, ResolvedRoute } from '../options/types.ts';
import { isValidRepositoryName } from '../protocol/reference.ts';
import { requestIdOf, startTrace } from '../tracing/trace-context.ts';
import type { UpstreamObserver } from '../upstream/fetch.ts';
import { classify, pathOf } from './classify.ts';
import { ClientLimits, type ConnectionInfo } from './client-limits.ts';
import { meteredBody } from './metered-body.ts';
import { setRequestState, type RequestState } from './request-state.ts';
import { createUpstreamObserver } from './upstream-observer.ts';

type Handler = (request: Request) => Promise<Response>;

/**
 * Everything that runs the proxy in production, around the registry handler: metrics, health
 * and readiness, client rate limits, upstream concurrency caps, trace and request ids. Built
 * once per proxy; when none of it is on, the registry handler is served as it is.
 */
export class Operations {
  readonly registry: MetricsRegistry = new MetricsRegistry();
  readonly metrics: ProxyMetrics | undefined;
  readonly readiness: Readiness;
  readonly #options: ResolvedOptions;
  readonly #limits: ClientLimits | undefined;
  readonly #repositories = new Set<string>();

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.metrics = options.metrics ? new ProxyMetrics(this.registry, options.metrics.repositoryLabels) : undefined;
    this.readiness = new Readiness(options.routes, options.fetch, options.readiness, options.clock);
    this.#limits = ClientLimits.wanted(options) ? new ClientLimits(options, this.metrics) : undefined;
  }

  /** The observer of one route's upstream exchanges; undefined when nothing needs one. */
  readonly observerOf = (route: ResolvedRoute): UpstreamObserver | undefined => {
    const { tracing, clock } = this.#options;
    const limit = route.concurrency && new ConcurrencyLimit(route.concurrency.limit, route.concurrency.queueTimeout, clock);
    if (!tracing && !this.metrics && !limit) return undefined;
    return createUpstreamObserver({ route: route.name, clock, readiness: this.readiness, metrics: this.metrics, tracing, limit });
  };

  /** The handler with the operations layer around it (or as it is, when all of it is off). */
  wrap(context: ProxyContext, handler: Handler): (request: Request, connection?: ConnectionInfo) => Promise<Response> {
    const options = this.#options;
    const active = options.tracing || this.metrics !== undefined || this.#limits !== undefined || options.healthPath !== undefined;
    if (!active) return (request) => handler(request);
    return (request, connection) => this.#handle(context, handler, request, connection);
  }

  async #handle(context: ProxyContext, handler: Handler, request: Request, connection: ConnectionInfo | undefined): Promise<Response> {
    const options = this.#options;
    const pathname = pathOf(request.url);
    if (options.healthPath !== undefined && pathname.startsWith(options.healthPath)) {
      const rest = pathname.slice(options.healthPath.length);
      if (rest === '/healthz' || rest === '/readyz') return this.healthResponse(rest.slice(1) as 'healthz' | 'readyz', request.method);
    }
    const { clock } = options;
    const started = clock.now();
    const { endpoint, name, routeContext } = classify(context, request, pathname);
    const route = routeContext?.route.name ?? 'none';
    const state: RequestState = {
      requestId: options.tracing ? requestIdOf(request.headers) : undefined,
      trace: options.tracing ? startTrace(request.headers) : undefined,
      route,
      endpoint,
      upstreamStatus: undefined,
      upstreamMs: undefined,
      bodyDone: undefined,
    };
    setRequestState(request, state);
    const metrics = this.metrics;
    const inflight = metrics?.inflight.labels();
    inflight?.inc();
    let bodyCounted = false;
    try {
      const limits = this.#limits;
      let client = '';
      let response: Response | undefined;
      if (limits) {
        const key = limits.clientKey(context, request, connection);
        client = typeof key === 'string' ? key : await key;
        const refusal = limits.admit(client, routeContext, endpoint, request.method);
        response = refusal instanceof Promise ? await refusal : refusal;
      }
      response ??= await handler(request);
      if (state.requestId !== undefined) {
        try {
          response.headers.set('x-request-id', state.requestId);
        } catch {
          // A response with immutable headers (a handler returning a fetched Response) keeps them.
        }
      }
      const repository = metrics?.repositoryLabels ? this.#repositoryLabel(name) : undefined;
      if (metrics) {
        const code = String(response.status);
        const method = methodLabel(request.method);
        (repository === undefined ? metrics.requests.labels(route, endpoint, method, code) : metrics.requests.labels(route, endpoint, method, code, repository)).inc();
        metrics.requestDuration.labels(route, endpoint).observe((clock.now() - started) / 1000);
      }
      const pace = limits && endpoint === 'blob' && request.method === 'GET' && response.ok ? limits.blobPacer(client, routeContext) : undefined;
      // `body` last: a body made only when first read (the Node adapter's) stays unmade.
      if ((!metrics && !pace) || !response.body) return response;
      const bytes = metrics && (repository === undefined ? metrics.bytesSent.labels(route, endpoint) : metrics.bytesSent.labels(route, endpoint, repository));
      const declared = endpoint === 'blob' || pace ? null : response.headers.get('content-length');
      if (bytes && declared !== null && /^\d+$/.test(declared)) {
        // Manifests, tag lists, error bodies: a few KiB with a declared length, counted by it
        // rather than through a wrapping stream that would cost more than the rest of the
        // metrics. Blob bodies, the ones that can end early, are counted as they stream.
        bytes.inc(Number(declared));
        return response;
      }
      let done!: (bytes: number) => void;
      state.bodyDone = new Promise((resolve) => (done = resolve));
      const body = meteredBody(response.body, {
        hold: pace,
        sent: bytes ? (count) => bytes.inc(count) : undefined,
        end: (total) => {
          inflight?.dec();
          done(total);
        },
      });
      bodyCounted = true;
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
    } finally {
      if (!bodyCounted) inflight?.dec();
    }
  }

  /** Repository names are client input: only valid names, and only the first `maxRepositories` of them, become label values. */
  #repositoryLabel(name: string | undefined): string {
    if (name === undefined) return '';
    if (!isValidRepositoryName(name)) return 'invalid';
    if (this.#repositories.has(name)) return name;
    if (this.#repositories.size >= this.#options.metrics!.maxRepositories) return 'other';
    this.#repositories.add(name);
    return name;
  }

  metricsText(format: ExpositionFormat = 'prometheus'): string {
    return renderExposition(this.registry.collect(), format);
  }

  registerCollector(collector: MetricsCollector): void {
    this.registry.registerCollector(collector);
  }

  ready(): Promise<ReadinessReport> {
    return this.readiness.check();
  }

  drain(): void {
    this.readiness.draining = true;
  }

  async healthResponse(kind: 'healthz' | 'readyz', method: string): Promise<Response> {
    const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    if (kind === 'healthz') return new Response(method === 'HEAD' ? null : '{"status":"ok"}\n', { headers });
    const report = await this.readiness.check();
    return new Response(method === 'HEAD' ? null : `${JSON.stringify(report)}\n`, { status: report.ready ? 200 : 503, headers });
  }

  /** `/metrics`, `/healthz`, `/readyz`: what the metrics listener serves (never the public port). */
  readonly operationsHandler = async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url);
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response('method not allowed\n', { status: 405, headers: { allow: 'GET, HEAD' } });
    if (pathname === '/healthz' || pathname === '/readyz') return this.healthResponse(pathname.slice(1) as 'healthz' | 'readyz', request.method);
    if (pathname === '/metrics') {
      if (!this.metrics) return new Response('metrics are off (options.metrics)\n', { status: 404, headers: { 'content-type': 'text/plain' } });
      const format = negotiateFormat(request.headers.get('accept'));
      return new Response(request.method === 'HEAD' ? null : this.metricsText(format), {
        headers: { 'content-type': CONTENT_TYPES[format], 'cache-control': 'no-store' },
      });
    }
    return new Response('not found: /metrics, /healthz, /readyz\n', { status: 404, headers: { 'content-type': 'text/plain' } });
  };
}
