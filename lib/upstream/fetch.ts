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
  /** The client's abort; none for shared token and discovery requests, which no client may cancel. */
  signal?: AbortSignal;
  /** The client request served, for trace propagation. */
  client?: Request;
  /** `token`: the proxy's own token fetch (counted apart). @default 'registry' */
  purpose?: 'registry' | 'token';
};

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function isRedirect(response: Response): boolean {
  return REDIRECT_STATUSES.has(response.status) && response.headers.has('location');
}

/**
 * One upstream exchange, without following redirects (the policy decides what happens to them).
 * The client's abort signal is forwarded so a disconnect cancels the upstream transfer; a
 * separate timer bounds the wait for response headers only, never the body. Requests that
 * serve many clients (token and discovery fetches) pass no signal: one client's disconnect
 * must not cancel them, and a shared never-aborted signal would collect a listener per fetch.
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
    end(init.signal?.aborted ? 'cancelled' : (error as { code?: unknown }).code === 'UPSTREAM_TIMEOUT' ? 'timeout' : 'error');
    throw error;
  }
}

async function sendUpstream(settings: UpstreamFetchSettings, url: URL, init: UpstreamRequestInit): Promise<Response> {
  // One controller carries both the client's abort (for the whole transfer, body included) and
  // the headers timeout; AbortSignal.any costs far more per request on Node 20.
  const controller = new AbortController();
  const clientSignal = init.signal;
  if (clientSignal?.aborted) controller.abort(clientSignal.reason);
  else clientSignal?.addEventListener('abort', () => controller.abort(clientSignal.reason), { once: true });
  let timedOut = false;
  const timer =
    settings.headersTimeout > 0
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new UpstreamTimeout());
        }, settings.headersTimeout)
      : undefined;
  let response: Response;
  try {
    // Only what fetch should see: `client` means something else to Deno's fetch (an HttpClient).
    response = await settings.fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      redirect: 'manual',
      signal: controller.signal,
      // Required by the fetch spec for streamed request bodies (pushes); ignored without a body.
      ...(init.body ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (error) {
    if (clientSignal?.aborted) throw error; // the client went away: nobody to answer
    if (timedOut) {
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
