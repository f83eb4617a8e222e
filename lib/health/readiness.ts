import type { Clock, ResolvedRoute } from '../options/types.ts';
import { discardBody, fetchUpstream } from '../upstream/fetch.ts';

export interface UpstreamReadiness {
  route: string;
  ready: boolean;
  /** `recent`: it answered within `maxAge`; `checked`: asked `/v2/` just now. */
  how: 'recent' | 'checked';
  /** The answer of a check made now: an HTTP status, or why there was none. */
  status?: number | string;
}

export interface ReadinessReport {
  ready: boolean;
  draining: boolean;
  upstreams: UpstreamReadiness[];
}

/**
 * `/readyz`: ready when not draining and every route's upstream answered (any status below
 * 500) within `maxAge` — any exchange counts, a pull proves the upstream as well as `/v2/` —
 * or, when one has not, a `GET /v2/` made now answers within `timeout`.
 */
export class Readiness {
  draining = false;
  readonly #answeredAt = new Map<string, number>();
  readonly #checking = new Map<string, Promise<UpstreamReadiness>>();
  readonly #routes: ResolvedRoute[];
  readonly #fetch: typeof fetch;
  readonly #maxAge: number;
  readonly #timeout: number;
  readonly #clock: Clock;

  constructor(routes: ResolvedRoute[], fetchImpl: typeof fetch, settings: { maxAge: number; timeout: number }, clock: Clock) {
    this.#routes = routes;
    this.#fetch = fetchImpl;
    this.#maxAge = settings.maxAge;
    this.#timeout = settings.timeout;
    this.#clock = clock;
  }

  /** The route's upstream answered just now. */
  answered(route: string): void {
    this.#answeredAt.set(route, this.#clock.now());
  }

  async check(): Promise<ReadinessReport> {
    const now = this.#clock.now();
    const upstreams = await Promise.all(
      this.#routes.map((route): UpstreamReadiness | Promise<UpstreamReadiness> => {
        const at = this.#answeredAt.get(route.name);
        if (at !== undefined && now - at <= this.#maxAge) return { route: route.name, ready: true, how: 'recent' };
        let checking = this.#checking.get(route.name);
        if (!checking) {
          checking = this.#ping(route).finally(() => this.#checking.delete(route.name));
          this.#checking.set(route.name, checking);
        }
        return checking;
      }),
    );
    const draining = this.draining;
    return { ready: !draining && upstreams.every((upstream) => upstream.ready), draining, upstreams };
  }

  async #ping(route: ResolvedRoute): Promise<UpstreamReadiness> {
    const settings = { fetch: this.#fetch, headersTimeout: this.#timeout };
    try {
      // Never aborted by a client: the timeout bounds it.
      const response = await fetchUpstream(settings, new URL('/v2/', route.upstream), { method: 'GET', signal: new AbortController().signal });
      discardBody(response);
      const ready = response.status < 500;
      if (ready) this.answered(route.name);
      return { route: route.name, ready, how: 'checked', status: response.status };
    } catch (error) {
      return { route: route.name, ready: false, how: 'checked', status: (error as { code?: string }).code ?? 'error' };
    }
  }
}
