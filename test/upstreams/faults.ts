/**
 * Fault injection shared by every mock host: canned answers (429s), truncated bodies and slow
 * responses. Matchers test the full request URL.
 */
import { delay } from 'msw';

export type RequestMatcher = string | RegExp | ((request: Request) => boolean);

function matches(matcher: RequestMatcher | undefined, request: Request): boolean {
  if (matcher === undefined) return true;
  if (typeof matcher === 'string') return request.url.includes(matcher);
  if (matcher instanceof RegExp) return matcher.test(request.url);
  return matcher(request);
}

export interface TruncateOptions {
  /** Bytes actually sent; Content-Length still announces the full size. */
  bytes: number;
  /**
   * `error`: the stream fails after `bytes`, as undici reports a connection reset
   * (`TypeError: terminated`). `close`: the stream ends cleanly, short of Content-Length.
   * @default 'error'
   */
  mode?: 'error' | 'close';
  /** @default Infinity */
  times?: number;
}

export interface SlowOptions {
  /** Delay before the response headers. */
  headersMs?: number;
  /** After `stallAfterBytes` bytes, the body stalls this long before the rest. */
  stallMs?: number;
  /** @default 0 */
  stallAfterBytes?: number;
  /** @default Infinity */
  times?: number;
}

interface Rule {
  matcher: RequestMatcher | undefined;
  remaining: number;
  apply: (request: Request, next: () => Promise<Response>) => Promise<Response>;
}

export class Faults {
  private rules: Rule[] = [];

  /** The next `times` matching requests get `response()` instead of the registry's answer. */
  respond(matcher: RequestMatcher | undefined, response: (request: Request) => Response, times = 1): void {
    this.rules.push({ matcher, remaining: times, apply: async (request) => response(request) });
  }

  truncate(matcher: RequestMatcher | undefined, options: TruncateOptions): void {
    this.rules.push({
      matcher,
      remaining: options.times ?? Infinity,
      apply: async (request, next) => truncateResponse(await next(), options.bytes, options.mode ?? 'error'),
    });
  }

  slow(matcher: RequestMatcher | undefined, options: SlowOptions): void {
    this.rules.push({
      matcher,
      remaining: options.times ?? Infinity,
      apply: async (request, next) => {
        if (options.headersMs) await delay(options.headersMs);
        const response = await next();
        return options.stallMs ? stallResponse(response, options.stallAfterBytes ?? 0, options.stallMs) : response;
      },
    });
  }

  reset(): void {
    this.rules = [];
  }

  async run(request: Request, next: () => Promise<Response>): Promise<Response> {
    const rule = this.rules.find((r) => r.remaining > 0 && matches(r.matcher, request));
    if (!rule) return next();
    rule.remaining -= 1;
    return rule.apply(request, next);
  }
}

/** The same response, its body re-sent by `resend` from the complete original bytes. */
function replayBody(
  response: Response,
  resend: (all: Uint8Array, controller: ReadableStreamDefaultController<Uint8Array>) => Promise<void> | void,
): Response {
  if (!response.body) return response;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      await resend(new Uint8Array(await response.arrayBuffer()), controller);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function truncateResponse(response: Response, bytes: number, mode: 'error' | 'close'): Response {
  return replayBody(response, (all, controller) => {
    controller.enqueue(all.subarray(0, Math.min(bytes, all.byteLength)));
    if (mode === 'close') controller.close();
    else controller.error(new TypeError('terminated', { cause: new Error('other side closed') }));
  });
}

function stallResponse(response: Response, after: number, ms: number): Response {
  return replayBody(response, async (all, controller) => {
    if (after > 0) controller.enqueue(all.subarray(0, after));
    await delay(ms);
    controller.enqueue(all.subarray(after));
    controller.close();
  });
}
