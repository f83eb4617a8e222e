/**
 * Issue 4: the routing table is checked once, at creation — a route no request could reach,
 * duplicate names, and single-upstream options mixed with `upstreams` are refused, naming the
 * option.
 */
import { describe, expect, it } from 'vitest';
import { createRegistryProxy, RegistryProxyOptionsError } from '../../../lib/index.ts';
import { resolveOptions } from '../../../lib/options/resolve.ts';
import type { RegistryProxyOptions } from '../../../lib/options/types.ts';

function optionError(options: RegistryProxyOptions): RegistryProxyOptionsError {
  try {
    resolveOptions(options);
  } catch (error) {
    expect(error).toBeInstanceOf(RegistryProxyOptionsError);
    return error as RegistryProxyOptionsError;
  }
  throw new Error('options were accepted');
}

describe('upstreams: unreachable routes', () => {
  it('a default route (no criteria) before another route', () => {
    const error = optionError({ upstreams: [{ upstream: 'docker.io' }, { upstream: 'ghcr.io', hosts: ['ghcr.example.com'] }] });
    expect(error.option).toBe('upstreams[1]');
    expect(error.message).toBe(
      'registry-proxy: option "upstreams[1]" is unreachable: upstreams[0] (registry-1.docker.io) matches every request it would',
    );
  });

  it('a path prefix inside an earlier one', () => {
    const error = optionError({
      upstreams: [
        { upstream: 'ghcr.io', pathPrefix: 'gh' },
        { upstream: 'ghcr.io', pathPrefix: 'gh/owner', name: 'owner' },
        { upstream: 'docker.io' },
      ],
    });
    expect(error.option).toBe('upstreams[1]');
    expect(error.message).toContain('upstreams[0] (ghcr.io)');
  });

  it('the same path prefix twice', () => {
    const error = optionError({
      upstreams: [
        { upstream: 'ghcr.io', pathPrefix: 'x' },
        { upstream: 'quay.io', pathPrefix: '/x/' },
      ],
    });
    expect(error.option).toBe('upstreams[1]');
  });

  it('hosts all covered by an earlier route', () => {
    const error = optionError({
      upstreams: [
        { upstream: 'ghcr.io', hosts: ['a.example.com', 'b.example.com'] },
        { upstream: 'quay.io', hosts: ['B.example.com'] },
      ],
    });
    expect(error.option).toBe('upstreams[1]');
  });

  it('a namespace already served', () => {
    const error = optionError({
      upstreams: [
        { upstream: 'quay.io', namespaces: ['quay.io'] },
        { upstream: 'https://mirror.example.com', namespaces: ['quay.io'], pathPrefix: 'm' },
      ],
    });
    expect(error.option).toBe('upstreams[1]');
  });

  it.each<[string, NonNullable<RegistryProxyOptions['upstreams']>]>([
    ['the specific route first', [{ upstream: 'ghcr.io', pathPrefix: 'gh/owner', name: 'owner' }, { upstream: 'ghcr.io', pathPrefix: 'gh' }]],
    ['prefixes sharing only characters, not a segment', [{ upstream: 'ghcr.io', pathPrefix: 'gh' }, { upstream: 'quay.io', pathPrefix: 'ghcr' }]],
    ['a host route then the same path prefix on any host', [
      { upstream: 'ghcr.io', hosts: ['ghcr.example.com'], pathPrefix: 'g' },
      { upstream: 'quay.io', pathPrefix: 'g' },
    ]],
    ['some hosts shared, not all', [{ upstream: 'ghcr.io', hosts: ['a.example.com'] }, { upstream: 'quay.io', hosts: ['a.example.com', 'b.example.com'] }]],
    ['the issue\'s table', [
      { upstream: 'ghcr.io', hosts: ['ghcr.example.com'] },
      { upstream: 'ghcr.io', pathPrefix: 'ghcr.io', name: 'ghcr-path' },
      { upstream: 'us-docker.pkg.dev', pathPrefix: 'ar', repositoryPrefix: 'my-project/my-repo' },
      { upstream: 'docker.io' },
    ]],
  ])('accepts %s', (_label, upstreams) => {
    expect(resolveOptions({ upstreams }).routes).toHaveLength(upstreams.length);
  });
});

describe('upstreams: other refusals', () => {
  it('duplicate route names, including the default name (the upstream host)', () => {
    const error = optionError({
      upstreams: [
        { upstream: 'ghcr.io', hosts: ['ghcr.example.com'] },
        { upstream: 'ghcr.io', pathPrefix: 'ghcr.io' },
      ],
    });
    expect(error.option).toBe('upstreams[1].name');
    expect(error.message).toContain('duplicates another route\'s name "ghcr.io"');
    const explicit = optionError({
      upstreams: [
        { upstream: 'ghcr.io', hosts: ['ghcr.example.com'], name: 'mirror' },
        { upstream: 'quay.io', name: 'mirror' },
      ],
    });
    expect(explicit.option).toBe('upstreams[1].name');
  });

  it.each([
    ['upstream', { upstream: 'docker.io' }],
    ['repositoryPrefix', { repositoryPrefix: 'p' }],
    ['officialImages', { officialImages: true }],
    ['credentials', { credentials: { username: 'u', password: 'p' } }],
    ['allow', { allow: [{ repository: '**' }] }],
    ['deny', { deny: [{ repository: '**' }] }],
    ['anonymousPull', { anonymousPull: false }],
  ] as const)('top-level %s combined with upstreams', (option, extra) => {
    const error = optionError({ ...extra, upstreams: [{ upstream: 'ghcr.io' }] } as RegistryProxyOptions);
    expect(error.option).toBe(option);
    expect(error.message).toBe(`registry-proxy: option "${option}" cannot be combined with "upstreams": set it on each route`);
  });

  it('keeps top-level redirects and readOnly as defaults for the routes', () => {
    const resolved = resolveOptions({
      redirects: 'follow',
      readOnly: false,
      upstreams: [{ upstream: 'ghcr.io', pathPrefix: 'g' }, { upstream: 'quay.io', readOnly: true, redirects: 'pass' }],
    });
    expect(resolved.routes.map((r) => [r.redirects, r.readOnly])).toEqual([
      ['follow', false],
      ['pass', true],
    ]);
  });

  it.each<[string, RegistryProxyOptions]>([
    ['upstreams', { upstreams: [] }],
    ['upstreams[0].upstream', { upstreams: [{} as never] }],
    ['upstreams[1].upstream', { upstreams: [{ upstream: 'ghcr.io', pathPrefix: 'g' }, { upstream: 'ftp://x' }] }],
    ['upstreams[0].hosts', { upstreams: [{ upstream: 'ghcr.io', hosts: [] }] }],
    ['upstreams[0].hosts', { upstreams: [{ upstream: 'ghcr.io', hosts: ['ghcr.example.com/path'] }] }],
    ['upstreams[0].pathPrefix', { upstreams: [{ upstream: 'ghcr.io', pathPrefix: 'GHCR' }] }],
    ['upstreams[0].namespaces', { upstreams: [{ upstream: 'ghcr.io', namespaces: ['not a host'] }] }],
    ['upstreams[0].repositoryPrefix', { upstreams: [{ upstream: 'ghcr.io', repositoryPrefix: 'a//b' }] }],
    ['upstreams[0].allow[0].repository', { upstreams: [{ upstream: 'ghcr.io', allow: [{ repository: 'MyOrg/**' }] }] }],
    ['upstreams[0].deny[1].tags', { upstreams: [{ upstream: 'ghcr.io', deny: [{ repository: 'a' }, { repository: 'b', tags: ['bad tag'] }] }] }],
    ['upstreams[0].readOnly', { upstreams: [{ upstream: 'ghcr.io', readOnly: false, credentials: { username: 'u', password: 'p' } }] }],
    ['upstreams[0].officialImages', { upstreams: [{ upstream: 'ghcr.io', officialImages: 'yes' as never }] }],
    ['auth.users.alice.passwordHash', { auth: { users: { alice: { passwordHash: 'plain-text' } } } }],
    ['auth.users.alice.push', { auth: { users: { alice: { passwordHash: 'pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', push: ['Bad'] } } } }],
    ['auth.tokenSecret', { auth: { tokenSecret: 'too-short' } }],
    ['auth.tokenTtl', { auth: { tokenTtl: 10 } }],
  ])('%s', (option, options) => {
    expect(optionError(options).option).toBe(option);
  });

  it('createRegistryProxy throws the same error at creation, not on the first request', () => {
    expect(() => createRegistryProxy({ upstreams: [{ upstream: 'docker.io' }, { upstream: 'docker.io', name: 'again' }] })).toThrow(
      /option "upstreams\[1\]" is unreachable/,
    );
  });

  it('with proxy auth, a route may be writable while holding upstream credentials', () => {
    const resolved = resolveOptions({
      auth: { tokenSecret: 'x'.repeat(32) },
      upstreams: [{ upstream: 'ghcr.io', readOnly: false, credentials: { username: 'u', password: 'p' } }],
    });
    expect(resolved.routes[0]?.readOnly).toBe(false);
    expect(resolved.routes[0]?.tokenDance).toBe('proxy');
  });
});
