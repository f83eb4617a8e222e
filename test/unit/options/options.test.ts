import { describe, expect, it } from 'vitest';
import { createRegistryProxy, RegistryProxyOptionsError } from '../../../lib/index.ts';
import { resolveOptions } from '../../../lib/options/resolve.ts';

describe('options', () => {
  it('fronts Docker Hub by default', () => {
    const resolved = resolveOptions();
    const [route] = resolved.routes;
    expect(resolved.routes).toHaveLength(1);
    expect(route?.upstream.href).toBe('https://registry-1.docker.io/');
    expect(route?.officialImages).toBe(true);
    expect(route?.readOnly).toBe(true);
    expect(route?.redirects).toBe('pass');
    expect(route?.tokenDance).toBe('client');
    expect(resolved.tokenPath).toBe('/_token');
  });

  it.each([
    ['docker.io', 'https://registry-1.docker.io'],
    ['index.docker.io', 'https://registry-1.docker.io'],
    ['ghcr.io', 'https://ghcr.io'],
    ['us-docker.pkg.dev', 'https://us-docker.pkg.dev'],
    ['http://127.0.0.1:5000', 'http://127.0.0.1:5000'],
    ['https://quay.io/v2/', 'https://quay.io'],
  ])('reads upstream %s as %s', (upstream, origin) => {
    expect(resolveOptions({ upstream }).routes[0]?.upstream.origin).toBe(origin);
  });

  it('trims slashes around the prefix', () => {
    expect(resolveOptions({ repositoryPrefix: '/p/r/' }).routes[0]?.repositoryPrefix).toBe('p/r');
  });

  it.each([
    [{ upstream: 'ftp://x' }, 'upstream'],
    [{ upstream: 'https://gcr.io/my-project' }, 'upstream'],
    [{ upstream: 'https://user:pw@gcr.io' }, 'upstream'],
    [{ repositoryPrefix: 'Bad Prefix' }, 'repositoryPrefix'],
    [{ redirects: 'sometimes' }, 'redirects'],
    [{ browserRedirect: 'not a url' }, 'browserRedirect'],
    [{ tokenPath: '/v2/token' }, 'tokenPath'],
    [{ tokenPath: 'token' }, 'tokenPath'],
    [{ publicUrl: 'images.example.com' }, 'publicUrl'],
    [{ timeouts: { headers: -1 } }, 'timeouts.headers'],
    [{ timeouts: { idle: Number.NaN } }, 'timeouts.idle'],
    [{ credentials: { username: 'u' } }, 'credentials'],
    [{ credentials: { authorization: 'Token abc' } }, 'credentials'],
    [{ credentials: { username: 'u', password: 'p' }, readOnly: false }, 'readOnly'],
    [{ fetch: 'no' }, 'fetch'],
  ])('refuses %j naming the option', (options, option) => {
    let caught: unknown;
    try {
      createRegistryProxy(options as never);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RegistryProxyOptionsError);
    expect((caught as RegistryProxyOptionsError).option).toBe(option);
    expect((caught as Error).message).toContain(`"${option}"`);
  });
});
