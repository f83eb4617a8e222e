/**
 * The prefix cases every proxy test runs: the same upstream repository reached by the client
 * as its full name (no prefix) or as its last segment (prefix `team/project`).
 */
export const UPSTREAM_REPO = 'team/project/app';

export interface PrefixCase {
  label: string;
  repositoryPrefix: string | undefined;
  /** The name the client pulls through the proxy. */
  clientRepo: string;
}

export const PREFIX_CASES: PrefixCase[] = [
  { label: 'without a repository prefix', repositoryPrefix: undefined, clientRepo: UPSTREAM_REPO },
  { label: 'with repository prefix team/project', repositoryPrefix: 'team/project', clientRepo: 'app' },
];

/** `repository:team/project/app:pull` */
export const UPSTREAM_PULL_SCOPE = `repository:${UPSTREAM_REPO}:pull`;

/** Scopes that name the prefix twice (`team/project/team/project/…`). */
export function doublePrefixed(scopes: string[]): string[] {
  return scopes.filter((s) => s.includes('team/project/team/project'));
}

/** Parses `Bearer realm="…",service="…",scope="…"` into its parameters. */
export function parseChallenge(header: string | null): { scheme: string; params: Record<string, string> } {
  const value = header ?? '';
  const space = value.indexOf(' ');
  const scheme = space < 0 ? value : value.slice(0, space);
  const params: Record<string, string> = {};
  for (const match of value.slice(space + 1).matchAll(/([A-Za-z_]+)="([^"]*)"/g)) params[match[1]!.toLowerCase()] = match[2]!;
  return { scheme, params };
}
