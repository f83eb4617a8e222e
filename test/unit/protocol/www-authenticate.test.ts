import { describe, expect, it } from 'vitest';
import { findChallenge, formatChallenge, parseWwwAuthenticate } from '../../../lib/protocol/www-authenticate.ts';

describe('parseWwwAuthenticate', () => {
  it('keeps a comma inside a quoted scope (RFC 7235)', () => {
    const [challenge] = parseWwwAuthenticate(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
    );
    expect(challenge?.scheme).toBe('Bearer');
    expect(Object.fromEntries(challenge!.params)).toEqual({
      realm: 'https://auth.docker.io/token',
      service: 'registry.docker.io',
      scope: 'repository:samalba/my-app:pull,push',
    });
  });

  it("reads gcr.io's unquoted service value", () => {
    const [challenge] = parseWwwAuthenticate('Bearer realm="https://gcr.io/v2/token",service=gcr.io');
    expect(challenge?.params.get('service')).toBe('gcr.io');
    expect(challenge?.params.get('realm')).toBe('https://gcr.io/v2/token');
  });

  it('splits several challenges in one value, as Headers.get joins them', () => {
    const challenges = parseWwwAuthenticate('Basic realm="Registry Realm", Bearer realm="https://r.example/token",service="r"');
    expect(challenges.map((c) => c.scheme)).toEqual(['Basic', 'Bearer']);
    expect(findChallenge(challenges, 'bearer')?.params.get('service')).toBe('r');
  });

  it('unescapes quoted-pairs and tolerates garbage without looping', () => {
    expect(parseWwwAuthenticate('Bearer realm="a\\"b"')[0]?.params.get('realm')).toBe('a"b');
    expect(parseWwwAuthenticate('=,,;"').length).toBeLessThan(5);
    expect(parseWwwAuthenticate('')).toEqual([]);
  });

  it('formats back with every value quoted', () => {
    const [challenge] = parseWwwAuthenticate('Bearer realm="x",service=gcr.io,error="insufficient_scope"');
    expect(formatChallenge(challenge!)).toBe('Bearer realm="x",service="gcr.io",error="insufficient_scope"');
  });
});
