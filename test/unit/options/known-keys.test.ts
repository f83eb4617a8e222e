import { describe, expect, it, vi } from 'vitest';
import { createRegistryProxy, RegistryProxyOptionsError } from '../../../lib/index.ts';
import { closestKey } from '../../../lib/options/schema.ts';

const HASH = 'pbkdf2-sha256$210000$c2FsdHNhbHRzYWx0c2FsdA$0000000000000000000000000000000000000000000';

function refusal(options: unknown): RegistryProxyOptionsError {
  try {
    createRegistryProxy(options as never);
  } catch (error) {
    if (error instanceof RegistryProxyOptionsError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('unknown option keys', () => {
  it.each([
    [{ upstram: 'http://registry:5000' }, 'upstram', 'did you mean "upstream"?'],
    [{ repositoryPrefx: 'team' }, 'repositoryPrefx', 'did you mean "repositoryPrefix"?'],
    [{ timeouts: { header: 5 } }, 'timeouts.header', 'did you mean "headers"?'],
    [{ credentials: { username: 'u', passwd: 'p' } }, 'credentials.passwd', 'did you mean "password"?'],
    [{ allow: [{ repository: 'a/*' }, { repo: 'b/*' }] }, 'allow[1].repo', ''],
    [
      { upstreams: [{ upstream: 'ghcr.io', hosts: ['a'] }, { upstream: 'quay.io', hosts: ['b'] }, { upstream: 'docker.io', namespace: ['docker.io'] }] },
      'upstreams[2].namespace',
      'did you mean "namespaces"?',
    ],
    [{ upstreams: [{ upstream: 'ghcr.io', deny: [{ repository: 'x/**', tag: ['latest'] }] }] }, 'upstreams[0].deny[0].tag', 'did you mean "tags"?'],
    [{ auth: { users: { ci: { passwordHash: HASH, pushh: ['x/**'] } } } }, 'auth.users.ci.pushh', 'did you mean "push"?'],
    [{ auth: { tokenTTL: 60 } }, 'auth.tokenTTL', 'did you mean "tokenTtl"?'],
    [{ port: 8080 }, 'port', ''],
    [{ namespaces: ['docker.io'] }, 'namespaces', 'it belongs to a route in "upstreams"'],
  ])('refuses %j naming %s', (options, path, hint) => {
    const error = refusal(options);
    expect(error.option).toBe(path);
    expect(error.message).toBe(`registry-proxy: option "${path}" is not a known option${hint ? `; ${hint}` : ''}`);
  });

  it('finds no unknown key in a full, valid set of options', () => {
    expect(() =>
      createRegistryProxy({
        upstreams: [
          { upstream: 'ghcr.io', name: 'g', hosts: ['g.example.com'], pathPrefix: 'ghcr', namespaces: ['ghcr.io'], credentials: { username: 'u', password: 'p' } },
          { upstream: 'docker.io', allow: [{ repository: 'library/*', tags: ['1.*'] }], deny: [{ repository: 'x/**' }], anonymousPull: false },
        ],
        auth: { users: { ci: { passwordHash: HASH, pull: ['**'], push: [] } }, tokenTtl: 60, service: 's' },
        timeouts: { headers: 1, idle: 0 },
        browserRedirect: false,
        tokenPath: '/_token',
        publicUrl: 'https://images.example.com',
        trustForwardedHeaders: true,
        onError: () => {},
        onWarning: () => {},
      }),
    ).not.toThrow();
  });

  it('suggests only keys that are close', () => {
    expect(closestKey('Upstream', ['upstream', 'upstreams'])).toBe('upstream');
    expect(closestKey('port', ['upstream', 'auth', 'tokenPath'])).toBeUndefined();
  });
});

describe('warnings at creation', () => {
  it('warns when a rule can never match because official images are seen as library/…', () => {
    const onWarning = vi.fn();
    createRegistryProxy({ upstream: 'docker.io', deny: [{ repository: 'alpine' }, { repository: 'library/busybox' }, { repository: '**', tags: ['x'] }], onWarning });
    expect(onWarning.mock.calls).toEqual([
      ['option "deny[0].repository" "alpine" can never match: with officialImages, rules see official images as "library/alpine"'],
    ]);
  });

  it('does not warn without official images', () => {
    const onWarning = vi.fn();
    createRegistryProxy({ upstream: 'ghcr.io', allow: [{ repository: 'alpine' }], onWarning });
    createRegistryProxy({ upstreams: [{ upstream: 'docker.io', officialImages: false, deny: [{ repository: 'alpine' }] }], onWarning });
    expect(onWarning).not.toHaveBeenCalled();
  });
});
