import { describe, expect, it } from 'vitest';
import { applyConfigFile, ConfigError, describeOptionError, parseConfig, usage } from '../../../adapters/cli/config.ts';
import { resolveOptions } from '../../../lib/options/resolve.ts';
import { RegistryProxyOptionsError } from '../../../lib/options/error.ts';

describe('CLI configuration', () => {
  it('with nothing set, fronts Docker Hub on port 8080', () => {
    const config = parseConfig([], {});
    expect(config.port).toBe(8080);
    expect(config.hostname).toBe('0.0.0.0');
    expect(resolveOptions(config.proxy).routes[0]?.upstream.host).toBe('registry-1.docker.io');
  });

  it("accepts the Go proxy's variables as a drop-in replacement", () => {
    const config = parseConfig([], {
      REGISTRY_HOST: 'gcr.io',
      REPO_PREFIX: 'ahmetb-public',
      AUTH_HEADER: 'Basic dXNlcjpwYXNz',
      PORT: '9000',
      HOST: '127.0.0.1',
    });
    expect(config.proxy).toMatchObject({
      upstream: 'gcr.io',
      repositoryPrefix: 'ahmetb-public',
      credentials: { authorization: 'Basic dXNlcjpwYXNz' },
      browserRedirect: 'https://gcr.io/ahmetb-public',
    });
    expect(config.port).toBe(9000);
    expect(config.hostname).toBe('127.0.0.1');
  });

  it('DISABLE_BROWSER_REDIRECTS with any value turns the redirect off, like the Go proxy', () => {
    expect(parseConfig([], { REGISTRY_HOST: 'gcr.io', DISABLE_BROWSER_REDIRECTS: 'x' }).proxy.browserRedirect).toBe(false);
  });

  it('prefers flags over the clearer variables over the Go ones', () => {
    const env = { REGISTRY_PROXY_UPSTREAM: 'ghcr.io', REGISTRY_HOST: 'gcr.io' };
    expect(parseConfig([], env).proxy.upstream).toBe('ghcr.io');
    expect(parseConfig(['--upstream', 'quay.io'], env).proxy.upstream).toBe('quay.io');
    expect(parseConfig(['--upstream=quay.io'], env).sources.upstream).toBe('--upstream');
  });

  it('reads credentials, push, timeouts and logging', () => {
    const config = parseConfig(
      ['--username', 'bot', '--password', 's3cret', '--timeout', '5000', '--idle-timeout', '0', '--log', 'json', '--redirects', 'follow'],
      {},
    );
    expect(config.proxy).toMatchObject({
      credentials: { username: 'bot', password: 's3cret' },
      timeouts: { headers: 5000, idle: 0 },
      redirects: 'follow',
    });
    expect(config.log).toBe('json');
    expect(parseConfig(['--allow-push'], {}).proxy.readOnly).toBe(false);
    expect(parseConfig([], { GOOGLE_APPLICATION_CREDENTIALS: '/k.json' }).passwordFile).toEqual({
      path: '/k.json',
      source: 'GOOGLE_APPLICATION_CREDENTIALS',
      username: '_json_key',
    });
  });

  it.each([
    [[], { PORT: 'eighty' }, /^PORT must be a whole number/],
    [['--port', '70000'], {}, /^--port must be a whole number/],
    [['--frobnicate'], {}, /^--frobnicate is not a known option/],
    [['--upstream'], {}, /^--upstream needs a value/],
    [[], { REGISTRY_PROXY_PASSWORD: 'x' }, /^REGISTRY_PROXY_PASSWORD needs a username/],
    [[], { REGISTRY_PROXY_TRUST_FORWARDED: 'maybe' }, /^REGISTRY_PROXY_TRUST_FORWARDED must be true or false/],
    [['--log', 'loud'], {}, /^--log must be text, json or off/],
  ])('refuses %j %j with a one-line message naming the source', (argv, env, message) => {
    expect(() => parseConfig(argv, env)).toThrow(ConfigError);
    expect(() => parseConfig(argv, env)).toThrow(message);
  });

  it('names the variable behind an option the core refuses', () => {
    const config = parseConfig([], { REGISTRY_HOST: 'ftp://nope' });
    let message = '';
    try {
      resolveOptions(config.proxy);
    } catch (error) {
      message = describeOptionError(error as RegistryProxyOptionsError, config);
    }
    expect(message).toMatch(/^REGISTRY_HOST must use http or https/);
  });

  it('documents every option with its variables', () => {
    expect(usage()).toContain('--upstream <value>');
    expect(usage()).toContain('REGISTRY_HOST');
  });

  it('reads the routing table from REGISTRY_PROXY_UPSTREAMS and names the route in errors', () => {
    const config = parseConfig([], { REGISTRY_PROXY_UPSTREAMS: '[{"upstream":"ghcr.io","hosts":["ghcr.example.com"]},{"upstream":"docker.io"}]' });
    expect(resolveOptions(config.proxy).routes.map((route) => route.upstream.host)).toEqual(['ghcr.io', 'registry-1.docker.io']);

    const bad = parseConfig([], { REGISTRY_PROXY_UPSTREAMS: '[{"upstream":"docker.io"},{"upstream":"ghcr.io"}]' });
    let message = '';
    try {
      resolveOptions(bad.proxy);
    } catch (error) {
      message = describeOptionError(error as RegistryProxyOptionsError, bad);
    }
    expect(message).toBe('REGISTRY_PROXY_UPSTREAMS: upstreams[1] is unreachable: upstreams[0] (registry-1.docker.io) matches every request it would');
    expect(() => parseConfig([], { REGISTRY_PROXY_UPSTREAMS: '[{' })).toThrow(/^REGISTRY_PROXY_UPSTREAMS is not valid JSON/);
  });

  it('merges a config file under the flags, taking route passwords from the environment', () => {
    const config = parseConfig(['--config', '/etc/rp.json', '--public-url', 'https://flag.example'], {});
    applyConfigFile(
      config,
      JSON.stringify({
        publicUrl: 'https://file.example',
        upstreams: [{ upstream: 'ghcr.io', credentials: { username: 'bot', passwordEnv: 'GHCR_TOKEN' } }],
      }),
      { GHCR_TOKEN: 'ghp_secret' },
    );
    expect(config.proxy.publicUrl).toBe('https://flag.example');
    expect(config.proxy.upstreams?.[0]?.credentials).toEqual({ username: 'bot', password: 'ghp_secret' });
    expect(config.sources.upstreams).toBe('--config');

    const missing = parseConfig(['--config', '/etc/rp.json'], {});
    expect(() =>
      applyConfigFile(missing, '{"upstreams":[{"upstream":"ghcr.io","credentials":{"username":"bot","passwordEnv":"NOPE"}}]}', {}),
    ).toThrow('--config upstreams[0].credentials.passwordEnv names NOPE, which is not set');
    expect(() => applyConfigFile(missing, '[1]', {})).toThrow('--config must hold a JSON object of options');
  });
});
