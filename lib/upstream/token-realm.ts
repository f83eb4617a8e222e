import { fetchUpstream, discardBody, type UpstreamFetchSettings } from './fetch.ts';
import { schemeFromChallenges } from './proxy-token-dance.ts';
import { parseWwwAuthenticate } from '../protocol/www-authenticate.ts';

export interface TokenRealm {
  realm: URL;
  service: string | undefined;
}

/**
 * Remembers where the upstream's token server is. Token requests are only ever forwarded here,
 * to the realm the upstream itself announced — never to a host a client names.
 */
export class TokenRealmDiscovery {
  #known: TokenRealm | undefined;
  #pending: Promise<TokenRealm | undefined> | undefined;

  readonly #upstream: URL;
  readonly #settings: UpstreamFetchSettings;

  constructor(upstream: URL, settings: UpstreamFetchSettings) {
    this.#upstream = upstream;
    this.#settings = settings;
  }

  remember(realm: URL, service: string | undefined): void {
    this.#known = { realm, service };
  }

  /** The realm, asking the upstream's `/v2/` when none has been seen yet (e.g. after a restart). */
  async realm(): Promise<TokenRealm | undefined> {
    if (this.#known) return this.#known;
    this.#pending ??= this.#discover().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #discover(): Promise<TokenRealm | undefined> {
    // Serves every client's token requests: no one client's signal may cancel it.
    const response = await fetchUpstream(this.#settings, new URL('/v2/', this.#upstream), { method: 'GET' });
    discardBody(response);
    const header = response.headers.get('www-authenticate');
    const scheme = header ? schemeFromChallenges(parseWwwAuthenticate(header)) : undefined;
    if (scheme?.kind === 'bearer') this.remember(scheme.realm, scheme.service);
    return this.#known;
  }
}
