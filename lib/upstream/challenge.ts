import { findChallenge, parseWwwAuthenticate, type Challenge } from '../protocol/www-authenticate.ts';
import { discardBody, fetchUpstream, type UpstreamFetchSettings } from './fetch.ts';

/** How the upstream wants to be authenticated, learned from its `WWW-Authenticate` challenges. */
export type UpstreamScheme =
  | { kind: 'bearer'; realm: URL; service: string | undefined }
  | { kind: 'basic' }
  | { kind: 'none' };

/** Reads the upstream's scheme from a challenge header; `undefined` when there is none we can answer. */
export function schemeFromChallenges(challenges: Challenge[]): UpstreamScheme | undefined {
  const bearer = findChallenge(challenges, 'bearer');
  const realm = bearer?.params.get('realm');
  if (bearer && realm) {
    try {
      const realmUrl = new URL(realm);
      if (realmUrl.protocol === 'https:' || realmUrl.protocol === 'http:') {
        return { kind: 'bearer', realm: realmUrl, service: bearer.params.get('service') };
      }
    } catch {
      // A malformed realm is treated as no usable challenge.
    }
  }
  if (findChallenge(challenges, 'basic')) return { kind: 'basic' };
  return undefined;
}

/**
 * Asks the upstream's `/v2/` how it authenticates. The request serves every client waiting on
 * it, so no single client's disconnect may cancel it.
 */
export async function discoverScheme(upstream: URL, settings: UpstreamFetchSettings): Promise<UpstreamScheme> {
  // Serves every client: no one client's signal may cancel it, and none is shared between fetches.
  const response = await fetchUpstream(settings, new URL('/v2/', upstream), { method: 'GET' });
  discardBody(response);
  const header = response.headers.get('www-authenticate');
  const scheme = response.status === 401 && header ? schemeFromChallenges(parseWwwAuthenticate(header)) : undefined;
  return scheme ?? { kind: 'none' };
}
