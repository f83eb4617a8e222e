/**
 * The command line as a user meets it: `runCli` with flags, variables and a config file, on an
 * in-memory host whose `serve` validates the options exactly as every runtime's does
 * (`prepareServe` → `createRegistryProxy`). A bad setting exits 2 with one line on stderr.
 */
import { describe, expect, it } from 'vitest';
import { runCli, type CliHost } from '../../../adapters/cli/run.ts';
import { prepareServe } from '../../../adapters/serve-options.ts';
import { usage } from '../../../adapters/cli/flags.ts';

class Exit extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

async function cli(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  let code: number | undefined;
  let served: ReturnType<typeof prepareServe> | undefined;
  const host: CliHost = {
    argv,
    env,
    readTextFile: (path) => {
      if (!(path in files)) throw new Error(`ENOENT: no such file, open '${path}'`);
      return files[path]!;
    },
    readStdin: async () => '',
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    exit: (exitCode) => {
      throw new Exit(exitCode);
    },
    serve: async (options) => {
      served = prepareServe({ ...options, handleSignals: false });
      return { url: `http://127.0.0.1:${served.port}` };
    },
  };
  try {
    await runCli(host);
  } catch (error) {
    if (!(error instanceof Exit)) throw error;
    code = error.code;
  }
  return { stdout, stderr, code, served };
}

describe('errors name what the user typed, once', () => {
  it.each([
    // Top-level values in a config file name the file and the option.
    [['--config', 'options.json'], {}, { 'options.json': '{"redirects":"folow"}' }, 'options.json: redirects must be "pass" or "follow", got "folow"'],
    [['--config', 'options.json'], {}, { 'options.json': '{"upstreams":5}' }, 'options.json: upstreams must be a non-empty list of routes'],
    // Unknown keys anywhere, with the closest known key.
    [['--config', 'options.json'], {}, { 'options.json': '{"upstram":"http://registry:5000"}' }, 'options.json: upstram is not a known option; did you mean "upstream"?'],
    [
      ['--config', 'options.json'],
      {},
      { 'options.json': JSON.stringify({ upstreams: [{ upstream: 'ghcr.io', hosts: ['g'] }, { upstream: 'quay.io', hosts: ['q'] }, { upstream: 'docker.io', namespace: ['docker.io'] }] }) },
      'options.json: upstreams[2].namespace is not a known option; did you mean "namespaces"?',
    ],
    [
      ['--config', 'rp.json'],
      {},
      { 'rp.json': JSON.stringify({ auth: { users: { ci: { passwordHash: 'x', pushh: ['a/**'] } } } }) },
      'rp.json: auth.users.ci.pushh is not a known option; did you mean "push"?',
    ],
    [['--config', 'options.json'], {}, { 'options.json': '{"port":8080}' }, 'options.json: port is set by --port or REGISTRY_PROXY_PORT / PORT, not in the config file'],
    // A switch names itself, not the option it sets, and the prefix is not doubled.
    [
      ['--allow-push', '--username', 'bot', '--password', 'x'],
      {},
      {},
      '--allow-push: readOnly must stay true when the proxy holds upstream credentials, unless "auth" authenticates clients',
    ],
    [
      [],
      { REGISTRY_PROXY_ALLOW_PUSH: 'true', AUTH_HEADER: 'Basic dTpw' },
      {},
      'REGISTRY_PROXY_ALLOW_PUSH: readOnly must stay true when the proxy holds upstream credentials, unless "auth" authenticates clients',
    ],
    // Valued flags and variables read as the option itself.
    [['--redirects', 'folow'], {}, {}, '--redirects must be pass or follow, got "folow"'],
    [['--upstream', 'ftp://x'], {}, {}, '--upstream must use http or https, got "ftp://x"'],
    [[], { REGISTRY_HOST: 'ftp://x' }, {}, 'REGISTRY_HOST must use http or https, got "ftp://x"'],
    [['--public-url', 'nope'], {}, {}, '--public-url must be an absolute URL, got "nope"'],
    [[], { REGISTRY_PROXY_UPSTREAMS: '[{"upstream":"ghcr.io","hots":["g"]}]' }, {}, 'REGISTRY_PROXY_UPSTREAMS: upstreams[0].hots is not a known option; did you mean "hosts"?'],
    [['--config', 'missing.json'], {}, {}, "--config could not be read: ENOENT: no such file, open 'missing.json'"],
  ])('%j %j %j → %s', async (argv, env, files, line) => {
    const result = await cli(argv, env as Record<string, string>, files as Record<string, string>);
    expect(result.stderr).toBe(`registry-proxy: ${line}\n`);
    expect(result.code).toBe(2);
  });

  it('a flag wins over the file without dropping the rest of a nested option', async () => {
    const result = await cli(['--config', 'o.json', '--timeout', '5'], {}, { 'o.json': '{"timeouts":{"idle":7},"upstream":"ghcr.io"}' });
    expect(result.code).toBeUndefined();
    expect(result.stderr).toBe('registry-proxy: listening on http://127.0.0.1:8080, fronting ghcr.io\n');
  });
});

describe('warnings', () => {
  it('a deny rule that can never match under officialImages is named with its file at start', async () => {
    const result = await cli(['--config', 'o.json'], {}, { 'o.json': '{"deny":[{"repository":"alpine"}]}' });
    expect(result.code).toBeUndefined();
    expect(result.stderr.split('\n')[0]).toBe(
      'registry-proxy: warning: o.json: deny[0].repository "alpine" can never match: with officialImages, rules see official images as "library/alpine"',
    );
  });
});

describe('REGISTRY_HOST as the Go proxy used it', () => {
  it.each([
    [{ REGISTRY_HOST: 'gcr.io', REPO_PREFIX: 'team' }, 'https://gcr.io/team'],
    [{ REGISTRY_HOST: 'http://127.0.0.1:5000', REPO_PREFIX: 'team' }, 'http://127.0.0.1:5000/team'],
    [{ REGISTRY_HOST: 'https://quay.io/' }, 'https://quay.io/'],
  ])('%j sends browsers to %s', async (env, location) => {
    const { served, code } = await cli(['--port', '0'], env);
    expect(code).toBeUndefined();
    const response = await served!.fetch(new Request('http://proxy.example/'));
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe(location);
  });
});

describe('--help', () => {
  it('prints every flag with its variables, the hash-password command, and what only the config file sets', async () => {
    const { stdout, code } = await cli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${usage()}\n`);
    expect(stdout).toMatch(/^ {2}--upstream <url\|host> +registry to front.*\[REGISTRY_PROXY_UPSTREAM, REGISTRY_HOST\]$/m);
    expect(stdout).toMatch(/registry-proxy hash-password \[--iterations N\] < password\.txt .*README: "The proxy's own users and tokens"/);
    expect(stdout).toMatch(/Only in the --config file/);
    for (const section of ['Many registries in one proxy', 'Access rules', "The proxy's own users and tokens"]) expect(stdout).toContain(`README: "${section}"`);
  });
});
