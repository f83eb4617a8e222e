import type { AccessRule, CompiledAccessRules } from '../options/types.ts';
import { globToRegExp } from './glob.ts';
import { RegistryProxyOptionsError } from '../options/error.ts';


interface CompiledRule {
  repository: RegExp;
  tags: RegExp[] | undefined;
}


function compileRules(rules: unknown, option: string): CompiledRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw new RegistryProxyOptionsError(option, 'must be a list of { repository, tags? } rules');
  return rules.map((rule: unknown, index) => {
    const at = `${option}[${index}]`;
    const { repository, tags } = (rule ?? {}) as Partial<AccessRule>;
    if (typeof repository !== 'string' || !/^[a-z0-9._\-/*?]+$/.test(repository)) {
      throw new RegistryProxyOptionsError(`${at}.repository`, `must be a repository glob like "myorg/**", got ${JSON.stringify(repository)}`);
    }
    if (tags !== undefined && (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string' && /^[A-Za-z0-9._\-*?]+$/.test(tag)))) {
      throw new RegistryProxyOptionsError(`${at}.tags`, 'must be a list of tag globs like "v1.*"');
    }
    return { repository: globToRegExp(repository), tags: tags?.map(globToRegExp) };
  });
}

/**
 * Allow and deny rules of one upstream. A repository is reachable when some allow rule without
 * `tags` (or with tags: its other tags stay closed) names it — or no allow rules exist — and no
 * deny rule without `tags` names it. Tag rules then open or close single tags.
 */
export function compileAccessRules(allow: unknown, deny: unknown, option: (name: string) => string): CompiledAccessRules {
  const allowRules = compileRules(allow, option('allow'));
  const denyRules = compileRules(deny, option('deny'));
  const active = allowRules.length > 0 || denyRules.length > 0;

  const allowsRepository = (name: string) =>
    (allowRules.length === 0 || allowRules.some((rule) => rule.repository.test(name))) &&
    !denyRules.some((rule) => rule.tags === undefined && rule.repository.test(name));

  const allowsTag = (name: string, tag: string) => {
    if (!allowsRepository(name)) return false;
    if (denyRules.some((rule) => rule.tags !== undefined && rule.repository.test(name) && rule.tags.some((glob) => glob.test(tag)))) {
      return false;
    }
    if (allowRules.length === 0) return true;
    return allowRules.some((rule) => rule.repository.test(name) && (rule.tags === undefined || rule.tags.some((glob) => glob.test(tag))));
  };

  return { active, allowsRepository, allowsTag };
}
