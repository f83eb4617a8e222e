import { OciError } from './errors.ts';
import type { NameMapping } from './names.ts';
import { isValidRepositoryName } from './reference.ts';
import { fitsNameLimit } from './names.ts';

/**
 * A token scope, `resourcetype ":" resourcename ":" action[,action]*` (distribution scope.md).
 * The name may itself contain `host:port`, so the type ends at the first colon and the actions
 * start after the last one.
 */
export interface ParsedScope {
  type: string;
  name: string;
  actions: string;
}

function parseScope(scope: string): ParsedScope | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1) };
}

// `repository(plugin)` is a deprecated resource class that registries ignore but still accept.
function isRepositoryType(type: string): boolean {
  return type === 'repository' || type.startsWith('repository(');
}

/** A scope on a repository (`repository:…` or `repository(plugin):…`), or `undefined` for any other. */
export function parseRepositoryScope(scope: string): ParsedScope | undefined {
  const parsed = parseScope(scope);
  return parsed && isRepositoryType(parsed.type) ? parsed : undefined;
}

/** The repository a scope names, or `undefined` for other resource types (`registry:catalog:*`, ECR's `aws`). */
export function repositoryScopeName(scope: string): string | undefined {
  return parseRepositoryScope(scope)?.name;
}

/** Rewrites a client's scope for the upstream's token server. Non-repository scopes pass as they are. */
export function scopeToUpstream(scope: string, names: NameMapping): string {
  const parsed = parseRepositoryScope(scope);
  if (!parsed) return scope;
  if (!isValidRepositoryName(parsed.name)) {
    throw new OciError(400, 'NAME_INVALID', 'invalid repository name in scope', { scope });
  }
  const upstreamName = names.toUpstream(parsed.name);
  if (upstreamName === undefined) {
    throw new OciError(404, 'NAME_UNKNOWN', 'no upstream serves this repository', { scope });
  }
  if (!fitsNameLimit(upstreamName)) {
    throw new OciError(400, 'NAME_INVALID', 'repository name too long once prefixed', { scope });
  }
  return `${parsed.type}:${upstreamName}:${parsed.actions}`;
}

/** Rewrites an upstream scope for a client, or `undefined` when it names something the proxy does not expose. */
export function scopeToClient(scope: string, names: NameMapping): string | undefined {
  const parsed = parseRepositoryScope(scope);
  if (!parsed) return scope;
  const clientName = names.toClient(parsed.name);
  return clientName === undefined ? undefined : `${parsed.type}:${clientName}:${parsed.actions}`;
}

/** Maps every scope of a space-separated list (the challenge and OAuth form use this shape). */
export function mapScopeList(list: string, map: (scope: string) => string | undefined): string {
  const mapped: string[] = [];
  for (const scope of list.split(' ')) {
    if (scope === '') continue;
    const result = map(scope);
    if (result !== undefined) mapped.push(result);
  }
  return mapped.join(' ');
}
