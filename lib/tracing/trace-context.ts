/**
 * W3C Trace Context (`traceparent` / `tracestate`) and Google's `X-Cloud-Trace-Context`, read
 * once per request into one shape. The proxy is one span of the trace: it keeps the caller's
 * trace id (or starts a trace), makes its own span id, and sends `traceparent` with that span
 * as the parent of every upstream request. Cloud Run's log linking reads the same object.
 */

export interface TraceContext {
  /** 32 lower-case hex digits. */
  traceId: string;
  /** The caller's span (16 hex digits), when one came in. */
  parentSpanId: string | undefined;
  /** The proxy's own span for this request (16 hex digits). */
  spanId: string;
  /** Whether the caller sampled the trace; `undefined` when it did not say. */
  sampled: boolean | undefined;
  /** The caller's `tracestate`, passed on unchanged. */
  traceState: string | undefined;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;
const CLOUD_TRACE = /^([0-9a-f]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?/i;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
// getRandomValues costs tens of microseconds per call on Node 20, more than the rest of a
// manifest request's tracing: draw ids from a pool refilled a few KiB at a time.
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  let hex = '';
  for (let end = poolAt + bytes; poolAt < end; poolAt++) hex += HEX[pool[poolAt]!];
  return hex;
}

export function newSpanId(): string {
  let id = randomHex(8);
  while (id === ZERO_SPAN) id = randomHex(8);
  return id;
}

export function newTraceId(): string {
  let id = randomHex(16);
  while (id === ZERO_TRACE) id = randomHex(16);
  return id;
}

/**
 * The caller's trace from `traceparent` (version 00, or a later version read as 00 says), else
 * from `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` (span id in decimal there); invalid or
 * all-zero ids count as none.
 */
export function readIncomingTrace(headers: Headers): Omit<TraceContext, 'spanId'> | undefined {
  const traceparent = headers.get('traceparent');
  if (traceparent !== null) {
    const match = TRACEPARENT.exec(traceparent.trim().toLowerCase());
    if (match && match[1] !== 'ff' && (match[1] !== '00' || match[0].length === 55) && match[2] !== ZERO_TRACE && match[3] !== ZERO_SPAN) {
      return {
        traceId: match[2]!,
        parentSpanId: match[3]!,
        sampled: (parseInt(match[4]!, 16) & 1) === 1,
        traceState: headers.get('tracestate')?.trim() || undefined,
      };
    }
  }
  const cloud = CLOUD_TRACE.exec(headers.get('x-cloud-trace-context') ?? '');
  if (cloud && cloud[1]!.toLowerCase() !== ZERO_TRACE) {
    let parentSpanId: string | undefined;
    if (cloud[2]) {
      const span = BigInt(cloud[2]);
      if (span > 0n && span < 2n ** 64n) parentSpanId = span.toString(16).padStart(16, '0');
    }
    return { traceId: cloud[1]!.toLowerCase(), parentSpanId, sampled: cloud[3] === undefined ? undefined : cloud[3] === '1', traceState: undefined };
  }
  return undefined;
}

/** The request's trace: the caller's, continued with a new span of ours, or a new one. */
export function startTrace(headers: Headers): TraceContext {
  const incoming = readIncomingTrace(headers);
  if (incoming) return { ...incoming, spanId: newSpanId() };
  return { traceId: newTraceId(), parentSpanId: undefined, spanId: newSpanId(), sampled: undefined, traceState: undefined };
}

/** `traceparent` for an upstream request made within this trace, the proxy's span as its parent. */
export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-${trace.sampled ? '01' : '00'}`;
}

/** Sets `traceparent` (and `tracestate`, when the caller sent one) on an upstream request. */
export function propagateTrace(trace: TraceContext, headers: Headers): void {
  headers.set('traceparent', formatTraceparent(trace));
  if (trace.traceState) headers.set('tracestate', trace.traceState);
}

const REQUEST_ID = /^[A-Za-z0-9._:+=/@-]{1,128}$/;

/** The caller's `X-Request-Id` when it is a plain token (nothing to inject into logs), else a new UUID. */
export function requestIdOf(headers: Headers): string {
  const given = headers.get('x-request-id');
  return given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}
