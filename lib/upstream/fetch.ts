import { OciError } from '../protocol/errors.ts';

export interface UpstreamFetchSettings {
  fetch: typeof fetch;
  headersTimeout: number;
}

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
export async function fetchUpstream(
  settings: UpstreamFetchSettings,
  url: URL,
  init: Omit<RequestInit, 'signal'> & { signal?: AbortSignal },
): Promise<Response> {
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
    response = await settings.fetch(url, {
      ...init,
      redirect: 'manual',
      signal: controller.signal,
      // Required by the fetch spec for streamed request bodies (pushes); ignored without a body.
      ...(init.body ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch (error) {
    if (clientSignal?.aborted) throw error; // the client went away: nobody to answer
    if (timedOut) {
      throw new OciError(504, 'UPSTREAM_TIMEOUT', `upstream ${url.host} did not answer within ${settings.headersTimeout} ms`);
    }
    throw new OciError(502, 'UPSTREAM_UNREACHABLE', `upstream ${url.host} could not be reached`, {
      reason: error instanceof Error ? describeCause(error) : String(error),
    });
  } finally {
    clearTimeout(timer);
  }
  if (response.status < 200 || response.status > 599) {
    // A fetch may hand over what a Response cannot hold (`HTTP/1.1 999`): the upstream is broken.
    discardBody(response);
    throw new OciError(502, 'UPSTREAM_INVALID', `upstream ${url.host} answered with status ${response.status}`);
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
