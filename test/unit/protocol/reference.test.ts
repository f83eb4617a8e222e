import { describe, expect, it } from 'vitest';
import { isValidDigest, isValidReference, isValidRepositoryName, isValidTag } from '../../../lib/protocol/reference.ts';

const sha = 'sha256:' + 'a'.repeat(64);

describe('reference grammar (OCI distribution spec)', () => {
  it.each(['alpine', 'library/alpine', 'a/b/c', 'my-app', 'my__app', 'a.b_c', 'x0/y1'])('accepts name %s', (name) => {
    expect(isValidRepositoryName(name)).toBe(true);
  });
  it.each(['', 'Alpine', '/a', 'a/', 'a//b', '-a', 'a-', 'a..b', '../a', 'a%2Fb', 'a b', 'a/./b', 'x'.repeat(256)])(
    'refuses name %s',
    (name) => {
      expect(isValidRepositoryName(name)).toBe(false);
    },
  );
  it('accepts tags up to 128 characters only', () => {
    expect(isValidTag('v1.2.3_rc-1')).toBe(true);
    expect(isValidTag('a'.repeat(128))).toBe(true);
    expect(isValidTag('a'.repeat(129))).toBe(false);
    expect(isValidTag('.hidden')).toBe(false);
  });
  it('checks registered digest algorithms for their length', () => {
    expect(isValidDigest(sha)).toBe(true);
    expect(isValidDigest('sha256:abc')).toBe(false);
    expect(isValidDigest('sha256:' + 'A'.repeat(64))).toBe(false);
    expect(isValidDigest('sha512:' + 'b'.repeat(128))).toBe(true);
    expect(isValidDigest('blake3:anything_goes')).toBe(true);
    expect(isValidDigest('nocolon')).toBe(false);
  });
  it('treats a reference with a colon as a digest', () => {
    expect(isValidReference('latest')).toBe(true);
    expect(isValidReference(sha)).toBe(true);
    expect(isValidReference('Latest:x')).toBe(false); // algorithms are lower-case
    expect(isValidReference('latest:')).toBe(false);
  });
});
