import type { CacheEvent, CacheStore, ContentInfo, ResolvedCache, RouteCacheSettings, TokenDance } from '../options/types.ts';
import { isRedirect } from '../upstream/fetch.ts';
import { AccessProofs } from './access-proofs.ts';
import { isCacheableDigest } from './digest.ts';
import { Fill } from './fill.ts';
import { LruIndex } from './lru-index.ts';
import { parseRange } from './range.ts';

/** A cache hit answered by redirect points at a URL valid this long. */
const PRESIGN_SECONDS = 300;
/** After the store fails, requests pass through for this long before the store is tried again. */
const STORE_RETRY_MS = 10_000;
/** An unreachable store is logged at most this often. */
const STORE_LOG_INTERVAL_MS = 60_000;
/** Before evicting, the index is re-read from the store at most this often: other processes sharing it fill and evict too. */
const RESCAN_MS = 5 * 60_000;
/** Tag lists and referrers bigger than this are passed through, not kept. */
const MAX_LIST_BYTES = 4 * 1024 * 1024;
const STALE_WARNING = '110 - "Response is Stale"';

export type PullKind = 'blobs' | 'manifests' | 'tags' | 'referrers';

/** One authorized pull, as the routes hand it to the cache. */
export interface CachedPull {
  /** The client's request (GET or HEAD). */
  request: Request;
  route: { name: string; tokenDance: TokenDance; cache: Required<RouteCacheSettings> };
  /** The repository as the upstream names it: content is linked to (route, repository). */
  repository: string;
  /** The repository as the client names it (tag lists carry it). */
  clientName: string;
  kind: PullKind;
  /** Digest or tag; '' for tags/list. */
  reference: string;
  /** Query sent upstream ('' or `?…`). */
  search: string;
  /**
   * Sends a request upstream for this repository and returns it as the client would see it;
   * `reference` replaces the path's digest or tag, `followRedirects` fetches blobs from CDNs.
   */
  upstream(request: Request, options?: { reference?: string; followRedirects?: boolean }): Promise<Response>;
}

interface TagRecord {
  digest: string;
  /** When the upstream last said the tag points at `digest`. */
  checkedAt: number;
}

interface ListRecord {
  storedAt: number;
  headers: [string, string][];
  body: string;
}

/** Thrown by any store call, so a failing store turns into pass-through and never into a client error. */
class StoreFailure extends Error {
  override name = 'StoreFailure';
}

/**
 * The pull-through cache. Content (blobs, manifests) is kept by digest, verified before it is
 * published, and served for a repository only once linked to it; tags are revalidated with a
 * HEAD; tag lists and referrers are kept briefly. Every decision here runs after the proxy's own
 * access rules and client authentication (the routes authorize before calling `serve`).
 */
export class RegistryCache {
  private readonly store: CacheStore;
  private readonly index = new LruIndex();
  private readonly fills = new Map<string, Fill>();
  private readonly tagChecks = new Map<string, Promise<Response>>();
  private readonly proofs = new AccessProofs();
  private loaded: Promise<void> | undefined;
  private storeDownUntil = 0;
  private storeLoggedAt = -Infinity;
  private evicting: Promise<void> | undefined;
  private scannedAt = 0;

  private readonly settings: ResolvedCache;
  private readonly onError: (error: unknown, request: Request) => void;

  constructor(settings: ResolvedCache, onError: (error: unknown, request: Request) => void) {
    this.settings = settings;
    this.onError = onError;
    this.store = settings.store;
  }

  /** Answers an authorized pull from the cache, or from upstream while filling the cache. */
  async serve(pull: CachedPull): Promise<Response> {
    if (Date.now() < this.storeDownUntil) return pull.upstream(pull.request);
    try {
      await (this.loaded ??= this.loadIndex());
      if (pull.kind === 'tags' || pull.kind === 'referrers') return await this.serveList(pull);
      if (pull.kind === 'manifests' && !pull.reference.includes(':')) return await this.serveTag(pull);
      if (!isCacheableDigest(pull.reference)) return await pull.upstream(pull.request);
      return await this.serveDigest(pull, pull.reference);
    } catch (error) {
      if (!(error instanceof StoreFailure)) throw error;
      this.storeFailed(error, pull.request);
      return pull.upstream(pull.request);
    }
  }

  // ---- content by digest -------------------------------------------------------------------

  private async serveDigest(pull: CachedPull, digest: string): Promise<Response> {
    const owner = ownerOf(pull);
    const kind = pull.kind === 'blobs' ? 'blob' : 'manifest';
    const info = await this.call(() => this.store.stat(digest));
    if (info) {
      const verdict = await this.mayServe(pull, digest, owner);
      if (verdict instanceof Response) return verdict;
      const served = await this.serveStored(pull, digest, info);
      if (served) {
        this.event({ type: 'hit', kind, route: pull.route.name, digest, bytes: info.size });
        return served;
      }
    }
    this.event({ type: 'miss', kind, route: pull.route.name, digest });
    // A HEAD on a miss is only a question: it must not cost a download.
    if (pull.request.method === 'HEAD') return this.passAndProve(pull);

    const starting = !this.fills.has(digest);
    const fill = starting ? this.startFill(pull, digest, owner) : this.fills.get(digest)!;
    if (pull.request.headers.has('range')) {
      // The client gets its range from upstream now; the whole blob fills in the background.
      fill.detach();
      return pull.upstream(pull.request);
    }
    const lease = fill.lease();
    pull.request.signal.addEventListener('abort', () => lease.release(), { once: true });
    const opened = await (fill as FillWithOpening).opened;
    if (!opened.ok) {
      lease.release();
      // The upstream's refusal (404, 401, 429 …) goes to the client that asked; others ask again.
      return starting && opened.response ? opened.response : pull.upstream(pull.request);
    }
    if (!starting && !(fill.owners.has(owner) && this.proven(pull))) {
      // Joining a fill started for another repository or other credentials needs its own yes.
      const head = await this.askUpstream(pull, digest);
      if (!isAccepted(head)) {
        lease.release();
        return pull.upstream(pull.request);
      }
      fill.owners.add(owner);
    }
    if (fill.failed) {
      lease.release();
      return pull.upstream(pull.request);
    }
    const headers = contentHeaders(digest, fill.contentType ?? 'application/octet-stream', fill.size);
    return new Response(fill.read(lease), { status: 200, headers });
  }

  private startFill(pull: CachedPull, digest: string, owner: string): Fill {
    const fill = new Fill(digest, this.store) as FillWithOpening;
    fill.owners.add(owner);
    this.fills.set(digest, fill);
    fill.opened = this.openFill(pull, fill);
    void fill.done.then(async (committed) => {
      if (this.fills.get(digest) === fill) this.fills.delete(digest);
      if (!committed) return;
      this.index.add(digest, fill.written);
      this.event({ type: 'fill', kind: pull.kind === 'blobs' ? 'blob' : 'manifest', route: pull.route.name, digest, bytes: fill.written });
      try {
        // Clients that joined during the commit are linked now.
        for (const linked of fill.owners) await this.call(() => this.store.link(digest, linked));
        await this.evict();
      } catch (error) {
        this.storeFailed(error, pull.request);
      }
    });
    return fill;
  }

  /** Sends the fill's GET (following redirects: the bytes are wanted) and starts writing it. */
  private async openFill(pull: CachedPull, fill: Fill): Promise<Opening> {
    const request = upstreamRequest(pull.request, 'GET', fill.signal);
    let response: Response;
    try {
      response = await pull.upstream(request, { reference: fill.digest, followRedirects: true });
    } catch (error) {
      fill.fail(error);
      return { ok: false, response: await errorResponse(error) };
    }
    const declared = response.headers.get('content-length');
    const size = declared !== null && /^\d+$/.test(declared) ? Number(declared) : undefined;
    if (response.status !== 200 || !response.body || (size !== undefined && size > this.settings.maxSize)) {
      fill.fail(new Error(`upstream answered ${response.status}`));
      this.event({ type: 'fill_failed', route: pull.route.name, digest: fill.digest, reason: `upstream ${response.status}` });
      return { ok: false, response };
    }
    this.proofs.record(proofKey(pull));
    const contentType = pull.kind === 'manifests' ? (response.headers.get('content-type') ?? undefined) : undefined;
    let writer;
    try {
      writer = await this.store.put(fill.digest, { contentType });
    } catch (error) {
      // The store is down: this client still gets the upstream's bytes, uncached.
      this.storeFailed(error, pull.request);
      fill.fail(error);
      return { ok: false, response };
    }
    const linkOwners = async () => {
      for (const owner of fill.owners) await this.store.link(fill.digest, owner);
    };
    void fill.run(response.body, writer, size, contentType, linkOwners).then(() => {
      if (fill.failed) this.event({ type: 'fill_failed', route: pull.route.name, digest: fill.digest, reason: 'aborted or not verified' });
    });
    return { ok: true };
  }

  /**
   * Whether stored content may go to this client: linked to its repository on its route and, on
   * a route where clients bring their own upstream credentials, those credentials accepted
   * upstream recently. Otherwise the upstream is asked (a HEAD, never counted as a pull); an
   * unreachable upstream still lets linked content through to clients it accepted before.
   * Returns the upstream's refusal as the client's answer.
   */
  private async mayServe(pull: CachedPull, digest: string, owner: string): Promise<true | Response> {
    const linked = await this.call(() => this.store.isLinked(digest, owner));
    if (linked && this.proven(pull)) return true;
    let head: Response;
    try {
      head = await this.askUpstream(pull, digest);
    } catch (error) {
      if (linked && this.proven(pull, pull.route.cache.staleIfError)) return true;
      throw error;
    }
    if (isAccepted(head)) {
      if (!linked) await this.call(() => this.store.link(digest, owner));
      return true;
    }
    if (linked && isOutage(head) && this.proven(pull, pull.route.cache.staleIfError)) return true;
    return pull.request.method === 'HEAD' ? head : pull.upstream(pull.request);
  }

  /** A HEAD upstream for `digest` in this repository, with the client's credentials (or the proxy's). */
  private async askUpstream(pull: CachedPull, digest: string): Promise<Response> {
    const head = await pull.upstream(upstreamRequest(pull.request, 'HEAD', pull.request.signal), { reference: digest });
    head.body?.cancel().catch(() => {});
    if (isAccepted(head)) this.proofs.record(proofKey(pull));
    return head;
  }

  private async passAndProve(pull: CachedPull): Promise<Response> {
    const response = await pull.upstream(pull.request);
    if (isAccepted(response)) this.proofs.record(proofKey(pull));
    return response;
  }

  private proven(pull: CachedPull, seconds?: number): boolean {
    return pull.route.tokenDance === 'proxy' || this.proofs.holds(proofKey(pull), seconds);
  }

  /** Stored content as the client asked for it (HEAD, Range, redirect); undefined if it vanished. */
  private async serveStored(pull: CachedPull, digest: string, info: ContentInfo, extra: HeadersInit = {}): Promise<Response | undefined> {
    const contentType = info.contentType ?? 'application/octet-stream';
    if (this.index.renew(digest, info.size)) void this.store.touch(digest).catch((error) => this.storeFailed(error, pull.request));
    const headers = contentHeaders(digest, contentType, info.size);
    for (const [name, value] of new Headers(extra)) headers.set(name, value);
    const { request } = pull;
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
    if (this.settings.redirect && pull.kind === 'blobs' && this.store.presign) {
      const location = await this.call(() => this.store.presign!(digest, PRESIGN_SECONDS));
      if (location) return new Response(null, { status: 307, headers: { location, 'cache-control': 'no-store', 'docker-content-digest': digest } });
    }
    const range = pull.kind === 'blobs' ? parseRange(request.headers.get('range'), info.size) : undefined;
    if (range === 'unsatisfiable') {
      return new Response(null, { status: 416, headers: { 'content-range': `bytes */${info.size}`, 'docker-distribution-api-version': 'registry/2.0' } });
    }
    const stored = await this.call(() => this.store.get(digest, range));
    if (!stored) {
      this.index.remove(digest);
      return undefined;
    }
    if (range) {
      headers.set('content-length', String(range.end - range.start));
      headers.set('content-range', `bytes ${range.start}-${range.end - 1}/${info.size}`);
      return new Response(stored.body, { status: 206, headers });
    }
    return new Response(stored.body, { status: 200, headers });
  }

  // ---- tags ----------------------------------------------------------------------------------

  private async serveTag(pull: CachedPull): Promise<Response> {
    const key = `tag\n${pull.route.name}\n${pull.repository}\n${pull.reference}\n${acceptClass(pull.request)}`;
    const record = parseRecord<TagRecord>(await this.call(() => this.store.getRecord(key)));
    const settings = pull.route.cache;
    if (record && Date.now() - record.checkedAt < settings.tagFreshness * 1000 && this.proven(pull)) {
      const served = await this.serveLinked(pull, record.digest);
      if (served) {
        this.event({ type: 'hit', kind: 'tag', route: pull.route.name, digest: record.digest });
        return served;
      }
    }
    let head: Response;
    try {
      head = await this.checkTag(pull, key);
    } catch (error) {
      const stale = await this.staleTag(pull, record, error);
      if (stale) return stale;
      throw error;
    }
    const digest = head.headers.get('docker-content-digest');
    if (head.status === 200 && digest !== null && isCacheableDigest(digest)) {
      this.proofs.record(proofKey(pull));
      await this.call(() => this.store.putRecord(key, JSON.stringify({ digest, checkedAt: Date.now() } satisfies TagRecord)));
      this.event({ type: 'revalidated', kind: 'tag', route: pull.route.name, digest });
      // The upstream just said this repository has `digest`: linking it is safe.
      const info = await this.call(() => this.store.stat(digest));
      if (info) {
        await this.call(() => this.store.link(digest, ownerOf(pull)));
        const served = await this.serveStored(pull, digest, info);
        if (served) {
          this.event({ type: 'hit', kind: 'manifest', route: pull.route.name, digest, bytes: info.size });
          return served;
        }
      }
      if (pull.request.method === 'HEAD') return head;
      return this.serveDigest({ ...pull, reference: digest, upstream: (request, options) => pull.upstream(request, { reference: digest, ...options }) }, digest);
    }
    if (isOutage(head)) {
      const stale = await this.staleTag(pull, record, new Error(`upstream answered ${head.status}`));
      if (stale) return stale;
    }
    // A refusal or an unknown tag: a GET gets the upstream's own answer, with its error body.
    return pull.request.method === 'HEAD' ? head : pull.upstream(pull.request);
  }

  /** One HEAD upstream per tag, Accept and credentials at a time; concurrent pulls share it. */
  private async checkTag(pull: CachedPull, key: string): Promise<Response> {
    const checkKey = `${key}\n${proofKey(pull)}`;
    let check = this.tagChecks.get(checkKey);
    if (!check) {
      check = pull.upstream(upstreamRequest(pull.request, 'HEAD', new AbortController().signal)).then((head) => {
        head.body?.cancel().catch(() => {});
        return head;
      });
      this.tagChecks.set(checkKey, check);
      void check.finally(() => this.tagChecks.delete(checkKey)).catch(() => {});
    }
    const head = await check;
    return new Response(null, { status: head.status, statusText: head.statusText, headers: new Headers(head.headers) });
  }

  /** The last known digest of a tag, while the upstream fails and within `staleIfError`. */
  private async staleTag(pull: CachedPull, record: TagRecord | undefined, error: unknown): Promise<Response | undefined> {
    if (!record || Date.now() - record.checkedAt > pull.route.cache.staleIfError * 1000) return undefined;
    if (!this.proven(pull, pull.route.cache.staleIfError)) return undefined;
    const served = await this.serveLinked(pull, record.digest, { warning: STALE_WARNING });
    if (!served) return undefined;
    this.servedStale(pull, error);
    return served;
  }

  private async serveLinked(pull: CachedPull, digest: string, extra?: HeadersInit): Promise<Response | undefined> {
    const info = await this.call(() => this.store.stat(digest));
    if (!info || !(await this.call(() => this.store.isLinked(digest, ownerOf(pull))))) return undefined;
    return this.serveStored(pull, digest, info, extra);
  }

  // ---- tag lists and referrers ---------------------------------------------------------------

  private async serveList(pull: CachedPull): Promise<Response> {
    const key = `list\n${pull.route.name}\n${pull.clientName}\n${pull.kind}\n${pull.reference}\n${pull.search}`;
    const record = parseRecord<ListRecord>(await this.call(() => this.store.getRecord(key)));
    const settings = pull.route.cache;
    const age = record ? Date.now() - record.storedAt : Infinity;
    if (record && age < settings.listFreshness * 1000 && this.proven(pull)) {
      this.event({ type: 'hit', kind: 'list', route: pull.route.name });
      return listResponse(record);
    }
    const stale = (error: unknown) => {
      if (!record || age > settings.staleIfError * 1000 || !this.proven(pull, settings.staleIfError)) return undefined;
      this.servedStale(pull, error);
      return listResponse(record, { warning: STALE_WARNING });
    };
    let response: Response;
    try {
      response = await pull.upstream(pull.request);
    } catch (error) {
      const served = stale(error);
      if (served) return served;
      throw error;
    }
    if (isOutage(response)) {
      const served = stale(new Error(`upstream answered ${response.status}`));
      if (served) {
        response.body?.cancel().catch(() => {});
        return served;
      }
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    if (response.status !== 200 || pull.request.method !== 'GET' || declared > MAX_LIST_BYTES) return response;
    this.proofs.record(proofKey(pull));
    this.event({ type: 'miss', kind: 'list', route: pull.route.name });
    const body = await response.text();
    const fresh: ListRecord = { storedAt: Date.now(), headers: [...response.headers], body };
    if (body.length <= MAX_LIST_BYTES) await this.call(() => this.store.putRecord(key, JSON.stringify(fresh)));
    return listResponse(fresh);
  }

  // ---- eviction, store health, events --------------------------------------------------------

  private async loadIndex(): Promise<void> {
    try {
      const listing = [];
      for await (const entry of this.store.list()) listing.push(entry);
      this.index.load(listing);
      this.scannedAt = Date.now();
    } catch (error) {
      this.loaded = undefined; // try again once the store is back
      throw new StoreFailure(`cache store could not be listed: ${describe(error)}`, { cause: error });
    }
    await this.evict();
  }

  /** Least recently used content goes until the total fits `maxSize`; content being filled stays. */
  private evict(): Promise<void> {
    // One eviction pass at a time; a request for another while one runs queues a single follow-up.
    const pass = (this.evicting ?? Promise.resolve()).then(() => this.evictOnce());
    this.evicting = pass.catch(() => {});
    return pass;
  }

  private async evictOnce(): Promise<void> {
    if (this.index.total > this.settings.maxSize && Date.now() - this.scannedAt > RESCAN_MS) {
      this.scannedAt = Date.now();
      const listing = [];
      for await (const entry of this.store.list()) listing.push(entry);
      this.index.sync(listing);
    }
    for (const digest of [...this.index.oldest()]) {
      if (this.index.total <= this.settings.maxSize) return;
      if (this.fills.has(digest)) continue;
      const before = this.index.total;
      this.index.remove(digest);
      await this.call(() => this.store.delete(digest));
      this.event({ type: 'eviction', digest, bytes: before - this.index.total });
    }
  }

  private async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw error instanceof StoreFailure ? error : new StoreFailure(`cache store failed: ${describe(error)}`, { cause: error });
    }
  }

  private storeFailed(error: unknown, request: Request): void {
    const now = Date.now();
    this.storeDownUntil = now + STORE_RETRY_MS;
    this.event({ type: 'store_error', reason: describe(error) });
    if (now - this.storeLoggedAt < STORE_LOG_INTERVAL_MS) return;
    this.storeLoggedAt = now;
    this.onError(new Error(`${describe(error)}; passing requests through uncached for now`, { cause: error }), request);
  }

  private servedStale(pull: CachedPull, error: unknown): void {
    this.event({ type: 'served_stale', kind: pull.kind === 'manifests' ? 'tag' : 'list', route: pull.route.name, reason: describe(error) });
    this.onError(new Error(`served a stale ${pull.kind} answer for ${pull.clientName}: upstream failed (${describe(error)})`), pull.request);
  }

  private event(event: CacheEvent): void {
    try {
      this.settings.onEvent(event);
    } catch {
      // A failing metrics hook must never fail a pull.
    }
  }
}

type Opening = { ok: true } | { ok: false; response: Response | undefined };
type FillWithOpening = Fill & { opened: Promise<Opening> };

function ownerOf(pull: CachedPull): string {
  return `${pull.route.name}/${pull.repository}`;
}

function proofKey(pull: CachedPull): string {
  return AccessProofs.keyOf(ownerOf(pull), pull.request.headers.get('authorization'));
}

/** A HEAD or GET upstream carrying only what identifies the content and the client's credentials. */
function upstreamRequest(original: Request, method: 'GET' | 'HEAD', signal: AbortSignal): Request {
  const headers = new Headers();
  for (const name of ['accept', 'authorization', 'user-agent']) {
    const value = original.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Request(original.url, { method, headers, signal });
}

function isAccepted(response: Response): boolean {
  return response.ok || isRedirect(response);
}

/** The upstream failing, rather than answering: what stale answers are for. */
function isOutage(response: Response): boolean {
  return response.status >= 500 || response.status === 429;
}

function contentHeaders(digest: string, contentType: string, size: number | undefined): Headers {
  const headers = new Headers({
    'content-type': contentType,
    'docker-content-digest': digest,
    etag: `"${digest}"`,
    'accept-ranges': 'bytes',
    'docker-distribution-api-version': 'registry/2.0',
  });
  if (size !== undefined) headers.set('content-length', String(size));
  return headers;
}

/** Media types the client accepts, normalised: a tag may resolve differently per Accept. */
function acceptClass(request: Request): string {
  const types = new Set<string>();
  for (const part of (request.headers.get('accept') ?? '').split(',')) {
    const type = part.split(';')[0]!.trim().toLowerCase();
    if (type) types.add(type);
  }
  return [...types].sort().join(',');
}

function listResponse(record: ListRecord, extra: HeadersInit = {}): Response {
  const headers = new Headers(record.headers);
  for (const [name, value] of new Headers(extra)) headers.set(name, value);
  headers.set('content-length', String(new TextEncoder().encode(record.body).byteLength));
  return new Response(record.body, { status: 200, headers });
}

function parseRecord<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined; // a damaged record is a miss
  }
}

async function errorResponse(error: unknown): Promise<Response | undefined> {
  const toResponse = (error as { toResponse?: () => Response }).toResponse;
  return typeof toResponse === 'function' ? toResponse.call(error) : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
