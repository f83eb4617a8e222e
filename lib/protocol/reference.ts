// Grammar from the OCI distribution spec, "Pulling manifests" and "Pulling blobs".
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
// Registered algorithms have a fixed encoded length; a sha256 digest of the wrong length can never exist.
const DIGEST_ENCODED = new Map([
  ['sha256', /^[a-f0-9]{64}$/],
  ['sha512', /^[a-f0-9]{128}$/],
]);

/** Distribution and most clients refuse repository names longer than this (host excluded). */
export const MAX_REPOSITORY_NAME_LENGTH = 255;

export function isValidRepositoryName(name: string): boolean {
  return name.length <= MAX_REPOSITORY_NAME_LENGTH && REPOSITORY_NAME.test(name);
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export function isValidDigest(digest: string): boolean {
  if (digest.length > 256 || !DIGEST.test(digest)) return false;
  const separator = digest.indexOf(':');
  const encoded = DIGEST_ENCODED.get(digest.slice(0, separator));
  return encoded === undefined || encoded.test(digest.slice(separator + 1));
}

/** Has the digest's shape (`algorithm:encoded`), valid or not: what distribution's routes take as a digest. */
export function hasDigestShape(value: string): boolean {
  return value.length <= 256 && DIGEST.test(value);
}

/** A manifest reference is a tag or a digest. */
export function isValidReference(reference: string): boolean {
  return reference.includes(':') ? isValidDigest(reference) : isValidTag(reference);
}
