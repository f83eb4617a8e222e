/** What every upstream mock factory returns, and the shared plumbing behind it. */
import type { HttpHandler } from 'msw';
import { SignedUrls } from './cdn.ts';
import { Faults } from './faults.ts';
import { buildImage, buildIndex, RegistryStore, type BuiltImage, type BuiltIndex, type ImageOptions, type IndexOptions } from './images.ts';
import { RequestLog } from './recorder.ts';
import { Accounts, TokenIssuer, type TokenIssuerOptions } from './tokens.ts';

export interface UpstreamMock {
  /** Pass to `setupServer(...mock.handlers)` or `server.use(...)`. */
  handlers: HttpHandler[];
  /** Every request any of this mock's hosts received, in order. */
  requests: RequestLog;
  store: RegistryStore;
  /** 429s, truncation and slowness on any of this mock's hosts (matchers test the full URL). */
  faults: Faults;
  /** Pushes a (random-content) image and tags it. Options default to the registry's usual format. */
  addImage(name: string, tag: string, image?: BuiltImage | ImageOptions): BuiltImage;
  /** Pushes a multi-platform index / manifest list and tags it. */
  addIndex(name: string, tag: string, index?: BuiltIndex | IndexOptions): BuiltIndex;
  /** Private repositories need credentials (created if missing). */
  setPrivate(name: string, isPrivate?: boolean): void;
  /** An account the token endpoint (or basic auth) accepts. */
  setCredentials(username: string, password: string): void;
}

/** A registry with its own token server. */
export interface TokenUpstreamMock extends UpstreamMock {
  issuer: TokenIssuer;
  /** Every issued token becomes expired. */
  expireTokens(): void;
}

/** A token registry that redirects blob downloads to signed URLs. */
export interface SignedBlobsUpstreamMock extends TokenUpstreamMock {
  /** Every signed blob URL handed out so far stops working. */
  expireSignedUrls(): void;
}

export interface BaseOptions {
  image?: ImageOptions;
  index?: IndexOptions;
  /** Share a request log / fault set with another mock (registry.k8s.io and its AR backend). */
  requests?: RequestLog;
  faults?: Faults;
}

export function createBase(defaults: BaseOptions = {}) {
  const store = new RegistryStore();
  const requests = defaults.requests ?? new RequestLog();
  const faults = defaults.faults ?? new Faults();
  const accounts = new Accounts();
  return {
    store,
    requests,
    faults,
    accounts,
    addImage(name: string, tag: string, image?: BuiltImage | ImageOptions): BuiltImage {
      const built = image && 'kind' in image ? image : buildImage({ ...defaults.image, ...image });
      store.ensure(name).push(built, tag);
      return built;
    },
    addIndex(name: string, tag: string, index?: BuiltIndex | IndexOptions): BuiltIndex {
      const built = index && 'kind' in index ? index : buildIndex({ ...defaults.index, ...index });
      store.ensure(name).push(built, tag);
      return built;
    },
    setPrivate(name: string, isPrivate = true): void {
      store.ensure(name).private = isPrivate;
    },
    setCredentials(username: string, password: string): void {
      accounts.set(username, password);
    },
  };
}

/** {@link createBase} plus a token issuer and the `expireTokens()` knob. */
export function createTokenBase(issuerOptions: TokenIssuerOptions, defaults: BaseOptions = {}) {
  const issuer = new TokenIssuer(issuerOptions);
  return { ...createBase(defaults), issuer, expireTokens: () => issuer.expireAll() };
}

/** {@link createTokenBase} plus the signed blob URLs a `blobRedirect` hands out and the `expireSignedUrls()` knob. */
export function createSignedBlobsBase(issuerOptions: TokenIssuerOptions, defaults: BaseOptions = {}) {
  const signed = new SignedUrls();
  return { ...createTokenBase(issuerOptions, defaults), signed, expireSignedUrls: () => signed.expireAll() };
}
