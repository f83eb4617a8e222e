import { ociError } from '../protocol/errors.ts';

export interface UpstreamFetchSettings {
  fetch: typeof fetch;
  headersTimeout: number;
  /** Sees every exchange (trace propagation, metrics, the concurrency cap); absent when nothing watches. */
  observer?: UpstreamObserver;
}

/** How an upstream exchange ended: the response status, or why there was none. */
export type UpstreamOutcome = number | 'error' | 'timeout' | 'cancelled';

export interface UpstreamExchange {
  /** The client request this exchange serves; none for shared token and discovery requests. */
  client: Request | undefined;
  purpose: 'registry' | 'token';
}

export interface UpstreamObserver {
  /**
   * Called before a request goes upstream, with its headers (to add trace context). Returns the
   * function told how the exchange ended, or a promise of it (a queue for a slot); throws an
   * `OciError` to refuse the request.
   */
  begin(headers: Headers, exchange: UpstreamExchange): ((outcome: UpstreamOutcome) => void) | Promise<(outcome: UpstreamOutcome) => void>;
}

export type UpstreamRequestInit = Omit<RequestInit, 'signal'> & {
  /**
   * The client request served: its abort (`signal`) cancels the exchange, body included, and
   * observers see it (trace propagation). None for shared token and discovery requests, which
   * no client may cancel.
   */
  client?: Request;
  /** Cancels the exchange, for one that serves no client request. */
  signal?: AbortSignal;
  /** `token`: the proxy's own token fetch (counted apart). @default 'registry' */
  purpose?: 'registry' | 'token';
};

/**
 * A `fetch` passed in `options.fetch` may carry this symbol, set to `true`, to say that it
 * takes an exchange's client request and headers timeout itself, as `init[UPSTREAM_EXCHANGE]`
 * (an `UpstreamExchangeInit`), instead of a `signal`: it cancels the exchange when the client
 * goes away, and rejects with an error named `TimeoutError` (or caused by one) when no response
 * head came within `headersTimeout` ms. The proxy then makes no `AbortController` of its own per
 * exchange, and the fetch may follow the client without one either: on Node 20 the two
 * controllers of an exchange cost ~6% of a manifest GET's CPU. The Node adapter's fetch does this.
 */
export const UPSTREAM_EXCHANGE: unique symbol = Symbol.for('registry-proxy.upstream-exchange') as never;

export interface UpstreamExchangeInit {
  /** The client request whose abort cancels the exchange; none for shared requests. */
  client: Request | undefined;
  /** Cancels the exchange, when there is no client request. */
  signal: AbortSignal | undefined;
  /** `0`: no limit. */
  headersTimeout: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function isRedirect(response: Response): boolean {
  return REDIRECT_STATUSES.has(response.status) && response.headers.has('location');
}

/**
 * One upstream exchange, without following redirects (the policy decides what happens to them).
 * The client's abort is forwarded so a disconnect cancels the upstream transfer; a timer bounds
 * the wait for response headers only, never the body. Requests that serve many clients (token
 * and discovery fetches) pass no client: one client's disconnect must not cancel them.
 */
export async function fetchUpstream(settings: UpstreamFetchSettings, url: URL, init: UpstreamRequestInit): Promise<Response> {
  const { observer } = settings;
  if (!observer) return sendUpstream(settings, url, init);
  let headers = init.headers;
  if (!(headers instanceof Headers)) init = { ...init, headers: (headers = new Headers(headers)) };
  const begun = observer.begin(headers, { client: init.client, purpose: init.purpose ?? 'registry' });
  const end = typeof begun === 'function' ? begun : await begun;
  try {
    const response = await sendUpstream(settings, url, init);
    end(response.status);
    return response;
  } catch (error) {
    end(cancelled(init) ? 'cancelled' : (error as { code?: unknown }).code === 'UPSTREAM_TIMEOUT' ? 'timeout' : 'error');
    throw error;
  }
}

/** Whoever the exchange served went away (read only once it failed: a signal may be made on first use). */
function cancelled(init: UpstreamRequestInit): boolean {
  return (init.client ?? init).signal?.aborted === true;
}

async function sendUpstream(settings: UpstreamFetchSettings, url: URL, init: UpstreamRequestInit): Promise<Response> {
  const fetch = settings.fetch as typeof globalThis.fetch & { [UPSTREAM_EXCHANGE]?: boolean };
  // Only what fetch should see: `client` means something else to Deno's fetch (an HttpClient).
  const request: RequestInit & { [UPSTREAM_EXCHANGE]?: UpstreamExchangeInit } = {
    method: init.method,
    headers: init.headers,
    body: init.body,
    redirect: 'manual',
    // Required by the fetch spec for streamed request bodies (pushes); ignored without a body.
    ...(init.body ? { duplex: 'half' } : {}),
  };
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (fetch[UPSTREAM_EXCHANGE] === true) {
    request[UPSTREAM_EXCHANGE] = { client: init.client, signal: init.signal, headersTimeout: settings.headersTimeout };
  } else {
    // One controller carries both the client's abort (for the whole transfer, body included) and
    // the headers timeout; AbortSignal.any costs far more per request on Node 20.
    const controller = new AbortController();
    const clientSignal = init.client?.signal ?? init.signal;
    if (clientSignal?.aborted) controller.abort(clientSignal.reason);
    else clientSignal?.addEventListener('abort', () => controller.abort(clientSignal.reason), { once: true });
    if (settings.headersTimeout > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new UpstreamTimeout());
      }, settings.headersTimeout);
    }
    request.signal = controller.signal;
  }
  let response: Response;
  try {
    response = await fetch(url, request);
  } catch (error) {
    if (cancelled(init)) throw error; // the client went away: nobody to answer
    if (timedOut || isTimeoutError(error)) {
      throw ociError('upstreamTimeout', `upstream ${url.host} did not answer within ${settings.headersTimeout} ms`);
    }
    throw ociError('upstreamUnreachable', `upstream ${url.host} could not be reached`, {
      reason: error instanceof Error ? describeCause(error) : String(error),
    });
  } finally {
    clearTimeout(timer);
  }
  if (response.status < 200 || response.status > 599) {
    // A fetch may hand over what a Response cannot hold (`HTTP/1.1 999`): the upstream is broken.
    discardBody(response);
    throw ociError('upstreamInvalid', `upstream ${url.host} answered with status ${response.status}`);
  }
  return response;
}

/** How a fetch that times itself out (`UPSTREAM_EXCHANGE`) says so. */
function isTimeoutError(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  return (error as Error | undefined)?.name === 'TimeoutError' || (cause as Error | undefined)?.name === 'TimeoutError';
}

class UpstreamTimeout extends Error {
  override name = 'TimeoutError';
}

// undici hides the useful part ("ECONNREFUSED", "certificate has expired") in `cause`.
function describeCause(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return error.message;
}

/** Releases a response body we will not read, so its connection returns to the pool. */
export function discardBody(response: Response): void {
  response.body?.cancel().catch(() => {});
}
