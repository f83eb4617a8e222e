import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../../lib/protocol/errors.ts';

const LIB = join(import.meta.dirname, '..', '..', '..', 'lib');

/** Statuses of distribution's errcode registry (registry/api/errcode, registry/api/v2/errors.go). */
const DISTRIBUTION_STATUS: Record<string, number> = {
  UNKNOWN: 500,
  UNSUPPORTED: 405,
  UNAUTHORIZED: 401,
  DENIED: 403,
  TOOMANYREQUESTS: 429,
  DIGEST_INVALID: 400,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  MANIFEST_UNKNOWN: 404,
  BLOB_UNKNOWN: 404,
};

describe('one table from situation to status and code', () => {
  it("gives distribution's codes distribution's status", () => {
    for (const [situation, { status, code }] of Object.entries(ERRORS)) {
      if (code in DISTRIBUTION_STATUS) expect(status, situation).toBe(DISTRIBUTION_STATUS[code]);
    }
  });

  it('gives each code one status', () => {
    const statusOf = new Map<string, number>();
    for (const { status, code } of Object.values(ERRORS)) {
      expect(statusOf.get(code) ?? status, code).toBe(status);
      statusOf.set(code, status);
    }
  });

  it('is the only place lib/ picks a status and code for its own answers', () => {
    for (const file of (readdirSync(LIB, { recursive: true }) as string[]).filter((name) => name.endsWith('.ts'))) {
      if (file === join('protocol', 'errors.ts')) continue;
      const source = readFileSync(join(LIB, file), 'utf8');
      expect(source, file).not.toMatch(/new OciError\(|ociErrorResponse\(\s*\d/);
    }
  });
});
