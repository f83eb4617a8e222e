import { describe, expect, it } from 'vitest';
import { createNameMapping } from '../../../lib/protocol/names.ts';
import { mapScopeList, scopeToClient, scopeToUpstream } from '../../../lib/protocol/scope.ts';

const prefixed = createNameMapping({ pathPrefix: '', officialImages: false, repositoryPrefix: 'my-project/my-repo' });
const hub = createNameMapping({ pathPrefix: '', officialImages: true, repositoryPrefix: '' });
const pathRouted = createNameMapping({ pathPrefix: 'ghcr.io', officialImages: false, repositoryPrefix: '' });

describe('scope mapping', () => {
  it('prefixes repository scopes for the upstream and strips them for clients', () => {
    expect(scopeToUpstream('repository:app:pull', prefixed)).toBe('repository:my-project/my-repo/app:pull');
    expect(scopeToClient('repository:my-project/my-repo/app:pull,push', prefixed)).toBe('repository:app:pull,push');
  });

  it('adds library/ for Docker Hub official images, both ways', () => {
    expect(scopeToUpstream('repository:alpine:pull', hub)).toBe('repository:library/alpine:pull');
    expect(scopeToUpstream('repository:grafana/grafana:pull', hub)).toBe('repository:grafana/grafana:pull');
    expect(scopeToClient('repository:library/alpine:pull', hub)).toBe('repository:alpine:pull');
  });

  it('drops challenge scopes outside the prefix (GHCR placeholder) instead of exposing them', () => {
    expect(scopeToClient('repository:user/image:pull', prefixed)).toBeUndefined();
  });

  it('passes non-repository scopes unchanged (ECR Public "aws", registry:catalog:*)', () => {
    expect(scopeToUpstream('aws', prefixed)).toBe('aws');
    expect(scopeToUpstream('registry:catalog:*', prefixed)).toBe('registry:catalog:*');
  });

  it('keeps the deprecated resource class', () => {
    expect(scopeToUpstream('repository(plugin):app:pull', prefixed)).toBe('repository(plugin):my-project/my-repo/app:pull');
  });

  it('removes and restores the path prefix of a path-routed upstream', () => {
    expect(scopeToUpstream('repository:ghcr.io/owner/app:pull', pathRouted)).toBe('repository:owner/app:pull');
    expect(scopeToClient('repository:owner/app:pull', pathRouted)).toBe('repository:ghcr.io/owner/app:pull');
    expect(() => scopeToUpstream('repository:quay.io/owner/app:pull', pathRouted)).toThrow(/no upstream/);
  });

  it('refuses malformed and over-long names', () => {
    expect(() => scopeToUpstream('repository:UPPER:pull', prefixed)).toThrow(/invalid repository name/);
    expect(() => scopeToUpstream('repository:../etc:pull', prefixed)).toThrow(/invalid repository name/);
    expect(() => scopeToUpstream(`repository:${'a'.repeat(240)}:pull`, prefixed)).toThrow(/too long/);
  });

  it('maps every scope of a space-separated list and skips empty ones', () => {
    expect(mapScopeList('repository:a:pull  repository:b:pull,push', (s) => scopeToUpstream(s, prefixed))).toBe(
      'repository:my-project/my-repo/a:pull repository:my-project/my-repo/b:pull,push',
    );
    expect(mapScopeList('', (s) => s)).toBe('');
  });
});
