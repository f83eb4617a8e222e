import type { UpstreamCredentials } from '../../lib/options/types.ts';

/**
 * The GCP metadata server, which Cloud Run (like GCE and GKE) answers at a fixed address.
 * Google's client libraries honour GCE_METADATA_HOST to point elsewhere; so does this module.
 */
const DEFAULT_METADATA_ORIGIN = 'http://metadata.google.internal';

export interface MetadataOptions {
  /** @default 'http://metadata.google.internal' */
  origin?: string;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Milliseconds to wait for the metadata server. @default 5000 */
  timeout?: number;
}

/** The origin from `GCE_METADATA_HOST` (`host:port`, as Google's libraries read it), if set. */
export function metadataOriginFromEnv(env: Record<string, string | undefined>): string | undefined {
  const host = env.GCE_METADATA_HOST?.trim();
  if (!host) return undefined;
  return /^https?:\/\//.test(host) ? host.replace(/\/+$/, '') : `http://${host}`;
}

/** GETs a metadata path; never includes a response body in its errors (it may be a token). */
async function getMetadata(path: string, options: MetadataOptions): Promise<Response> {
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const url = `${options.origin ?? DEFAULT_METADATA_ORIGIN}/computeMetadata/v1/${path}`;
  const response = await fetchImpl(url, {
    headers: { 'metadata-flavor': 'Google' },
    signal: AbortSignal.timeout(options.timeout ?? 5000),
  });
  if (!response.ok) {
    response.body?.cancel().catch(() => {});
    throw new Error(`metadata server answered ${response.status} for ${path}`);
  }
  // A captive portal or a stray proxy would answer without the flavour header.
  if (response.headers.get('metadata-flavor') !== 'Google') {
    response.body?.cancel().catch(() => {});
    throw new Error(`metadata server response for ${path} lacks Metadata-Flavor: Google`);
  }
  return response;
}

/** The project id of the service (for Cloud Logging trace names). */
export async function fetchProjectId(options: MetadataOptions = {}): Promise<string> {
  const response = await getMetadata('project/project-id', options);
  const id = (await response.text()).trim();
  if (!id) throw new Error('metadata server returned an empty project id');
  return id;
}

export interface AccessToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** An OAuth2 access token for the service account the service runs as. */
export async function fetchAccessToken(options: MetadataOptions = {}): Promise<AccessToken> {
  const started = Date.now();
  const response = await getMetadata('instance/service-accounts/default/token', options);
  let body: { access_token?: unknown; expires_in?: unknown };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new Error('metadata server sent an unreadable token response');
  }
  if (typeof body.access_token !== 'string' || body.access_token === '') {
    throw new Error('metadata server sent no access_token');
  }
  const seconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
  return { token: body.access_token, expiresAt: started + seconds * 1000 };
}

export interface MetadataCredentialsOptions extends MetadataOptions {
  /**
   * Fetch a new token this many milliseconds before the current one expires. The metadata
   * server hands out tokens with about an hour left and renews them 5 minutes before expiry.
   * @default 300000
   */
  refreshBefore?: number;
}

/**
 * Upstream credentials from the service account: GCR and Artifact Registry accept an access
 * token as the password of the user `oauth2accesstoken`. The token is cached until shortly before
 * it expires and one fetch is shared by concurrent callers, so no secret is ever stored.
 *
 * @example
 * createRegistryProxy({ upstream: 'us-docker.pkg.dev', credentials: metadataCredentials() });
 */
export function metadataCredentials(options: MetadataCredentialsOptions = {}): () => Promise<UpstreamCredentials> {
  const refreshBefore = options.refreshBefore ?? 300_000;
  let current: { token: string; refreshAt: number } | undefined;
  let pending: Promise<{ token: string; refreshAt: number }> | undefined;
  const refresh = async () => {
    const { token, expiresAt } = await fetchAccessToken(options);
    // A token with little time left is still refreshed before expiry, at half its remaining life.
    const margin = Math.min(refreshBefore, (expiresAt - Date.now()) / 2);
    return { token, refreshAt: expiresAt - margin };
  };
  return async (): Promise<UpstreamCredentials> => {
    if (!current || current.refreshAt <= Date.now()) {
      pending ??= refresh().finally(() => (pending = undefined));
      current = await pending;
    }
    return { username: 'oauth2accesstoken', password: current.token };
  };
}
