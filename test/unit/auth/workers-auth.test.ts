/**
 * Issue 15 (2, 3), shown without workerd: a proxy with `auth` and no `tokenSecret` is created
 * without drawing random values (the Workers runtime refuses them in global scope, where the
 * proxy is made) and draws its secret on the first token; every configured hash is checked at
 * creation (well-formed, iterations in bounds, at most 100,000 where the runtime is Cloudflare
 * Workers), naming the user; `hash-password --iterations N` makes hashes of that cost.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli, type CliHost } from '../../../adapters/cli/run.ts';
import { hashPassword, verifyPassword, WORKERS_MAX_ITERATIONS } from '../../../lib/auth/password-hash.ts';
import { createRegistryProxy, RegistryProxyOptionsError } from '../../../lib/index.ts';
import { distribution } from '../../upstreams/index.ts';
import { basic, claimsOf, req, testHash, tokenOf, useMsw } from '../helpers/multi-upstream.ts';

const server = useMsw();

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

/** workerd's answer to random values asked for in global scope. */
function refuseRandomValues() {
  return vi.spyOn(crypto, 'getRandomValues').mockImplementation(() => {
    throw new Error('Disallowed operation called within global scope.');
  });
}

/** Runs the CLI core with in-memory I/O; resolves with the exit code and what it printed. */
async function cli(argv: string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  class Exit {
    readonly code: number;
    constructor(code: number) {
      this.code = code;
    }
  }
  const host: CliHost = {
    argv,
    env: {},
    readTextFile: () => {
      throw new Error('no files here');
    },
    readStdin: async () => stdin,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    exit: (code) => {
      throw new Exit(code);
    },
    serve: () => Promise.reject(new Error('hash-password never serves')),
  };
  try {
    await runCli(host);
  } catch (error) {
    if (error instanceof Exit) return { code: error.code, stdout, stderr };
    throw error;
  }
  throw new Error('runCli returned without exiting');
}

describe('auth without tokenSecret, created where random values are refused', () => {
  it('is created without random values, then signs and verifies tokens with one secret drawn on first use', async () => {
    const upstream = distribution({ auth: 'anonymous', origin: 'https://lazy.registry.test' });
    server.use(...upstream.handlers);
    upstream.addImage('myorg/app', 'v1');
    const users = { alice: { passwordHash: await testHash('alice-pw') } };

    const refused = refuseRandomValues();
    const proxy = createRegistryProxy({ upstream: upstream.origin, auth: { users } });
    expect(refused).not.toHaveBeenCalled();
    refused.mockRestore();

    const drawn = vi.spyOn(crypto, 'getRandomValues');
    const first = await tokenOf(await req(proxy, 'GET /_token?service=registry-proxy&scope=repository:myorg/app:pull', { headers: { authorization: basic('alice', 'alice-pw') } }));
    const second = await tokenOf(await req(proxy, 'GET /_token?service=registry-proxy&scope=repository:myorg/app:pull', { headers: { authorization: basic('alice', 'alice-pw') } }));
    expect(drawn).toHaveBeenCalledTimes(1);
    expect(claimsOf(first).sub).toBe('alice');

    // Both tokens are good on the proxy that issued them: one secret, kept.
    for (const token of [first, second]) {
      const response = await req(proxy, 'GET /v2/myorg/app/manifests/v1', { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      await response.body?.cancel();
    }
    // Another proxy drew another secret: the token means nothing there.
    const other = createRegistryProxy({ upstream: upstream.origin, auth: { users } });
    const foreign = await req(other, 'GET /v2/myorg/app/manifests/v1', { headers: { authorization: `Bearer ${first}` } });
    expect(foreign.status).toBe(401);
    expect(foreign.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('configured hashes are checked at creation, naming the user', () => {
  const create = (passwordHash: string) => () => createRegistryProxy({ upstream: 'registry.test', auth: { users: { bob: { passwordHash } } } });

  it.each([
    ['not a hash', 'plain-text', /must be a hash from `registry-proxy hash-password`/],
    ['another algorithm', 'bcrypt$10$abcdefghijklmnopqrstuv$abcdefghijklmnopqrstuvwxyz01234', /must be a hash/],
    ['iterations with a sign', 'pbkdf2-sha256$-5$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /must be a hash/],
    ['a short salt', 'pbkdf2-sha256$1000$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /salt/],
    ['a salt that is not base64', 'pbkdf2-sha256$1000$!!!!!!!!!!!!$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /salt/],
    ['a truncated hash', 'pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAA', /hash that is not base64 of 32 bytes/],
    ['too few iterations', 'pbkdf2-sha256$999$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /from 1000 to 10000000/],
    ['too many iterations', 'pbkdf2-sha256$10000001$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', /from 1000 to 10000000/],
  ])('%s is refused at creation', (_, hash, message) => {
    let error: unknown;
    try {
      create(hash)();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RegistryProxyOptionsError);
    expect((error as Error).message).toContain('auth.users.bob.passwordHash');
    expect((error as Error).message).toMatch(message);
  });

  // PBKDF2 at full cost is slow by design: generous time on a loaded machine.
  it('on Cloudflare Workers a hash above 100,000 iterations is refused at creation; 100,000 is accepted', { timeout: 30_000 }, async () => {
    const strong = await hashPassword('pw', 210_000);
    const workers = await hashPassword('pw', WORKERS_MAX_ITERATIONS);
    expect(create(strong)).not.toThrow(); // anywhere else, 210,000 is the default
    vi.stubGlobal('navigator', { userAgent: 'Cloudflare-Workers' });
    expect(create(strong)).toThrow(/auth\.users\.bob\.passwordHash.*210000 PBKDF2 iterations; Cloudflare Workers derive at most 100000.*--iterations 100000/);
    expect(create(workers)).not.toThrow();
  });
});

describe('registry-proxy hash-password --iterations', () => {
  it('makes a hash of that many iterations that verifies; without the flag, 210,000', { timeout: 30_000 }, async () => {
    const made = await cli(['hash-password', '--iterations', '100000'], 'correct horse\n');
    expect(made.code).toBe(0);
    const hash = made.stdout.trim();
    expect(hash).toMatch(/^pbkdf2-sha256\$100000\$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('wrong horse', hash)).toBe(false);
    expect((await cli(['hash-password', '--iterations=5000'], 'pw')).stdout).toMatch(/^pbkdf2-sha256\$5000\$/);
    expect((await cli(['hash-password'], 'pw')).stdout).toMatch(/^pbkdf2-sha256\$210000\$/);
  });

  it.each([
    [['--iterations', '10'], /--iterations: iterations must be a whole number from 1000 to 10000000/],
    [['--iterations', 'many'], /--iterations: iterations must be a whole number/],
    [['--iterations'], /--iterations: iterations must be a whole number/],
    [['--rounds', '5'], /unknown argument --rounds/],
  ])('%j exits 2 naming the problem', async (args, message) => {
    const result = await cli(['hash-password', ...args], 'pw');
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
  });
});
