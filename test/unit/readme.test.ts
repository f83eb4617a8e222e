/**
 * README's option tables, `--help` and the library's option types come from one source each and
 * cannot drift: the tables are generated (scripts/readme.ts; `npm run readme` rewrites them), the
 * unknown-key schema knows exactly the keys of the option types, every flag sets a known option,
 * and every README section the CLI points to exists.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, FILE_ONLY_SETTINGS, FLAGS, type Flag } from '../../adapters/cli/flags.ts';
import { OPTIONS_SCHEMA } from '../../lib/options/schema.ts';
import { generatedTables, readOptionDocs, renderReadme } from '../../scripts/readme.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const typesSource = readFileSync(join(ROOT, 'lib/options/types.ts'), 'utf8');
const readmePath = join(ROOT, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const docs = readOptionDocs(typesSource);
const keysOf = (name: string) => (docs.get(name) ?? []).map((doc) => doc.name).sort();

type Shape = 'value' | { object: Record<string, Shape> } | { list: Record<string, Shape> } | { record: Record<string, Shape> };
const schema = OPTIONS_SCHEMA as unknown as Record<string, Shape>;
const nested = (shape: Shape | undefined) =>
  Object.keys(typeof shape === 'object' ? ('object' in shape ? shape.object : 'list' in shape ? shape.list : shape.record) : {}).sort();

describe('README tables', () => {
  it('match what scripts/readme.ts generates from lib/options/types.ts and adapters/cli/flags.ts', () => {
    const expected = renderReadme(readme, generatedTables(typesSource));
    if (process.env.UPDATE_README === '1') writeFileSync(readmePath, expected);
    else expect(readme, 'README.md is stale: run `npm run readme`').toBe(expected);
  });

  it('name every option with a summary', () => {
    const options = ['UpstreamSettings', 'UpstreamRoute', 'RegistryProxyOptions', 'RegistryProxyTimeouts', 'AccessRule', 'ProxyUser', 'ClientAuthOptions'];
    for (const name of options) for (const doc of docs.get(name)!) expect(doc.summary, `${name}.${doc.name}`).not.toBe('');
  });
});

describe('the unknown-key schema knows exactly the keys of the option types', () => {
  it.each([
    ['RegistryProxyOptions + UpstreamSettings', Object.keys(schema).sort(), [...keysOf('RegistryProxyOptions'), ...keysOf('UpstreamSettings')].sort()],
    ['UpstreamRoute', nested(schema.upstreams), [...new Set([...keysOf('UpstreamRoute'), ...keysOf('UpstreamSettings')])].sort()],
    ['ClientAuthOptions', nested(schema.auth), keysOf('ClientAuthOptions')],
    ['ProxyUser', nested((schema.auth as { object: Record<string, Shape> }).object.users), keysOf('ProxyUser')],
    ['RegistryProxyTimeouts', nested(schema.timeouts), keysOf('RegistryProxyTimeouts')],
    ['AccessRule', nested(schema.allow), keysOf('AccessRule')],
  ])('%s', (_name, known, typed) => {
    expect(known).toEqual(typed);
  });
});

describe('the flag table', () => {
  it('sets only options the library knows', () => {
    for (const flag of FLAGS as readonly Flag[]) {
      if (flag.option === undefined) continue;
      const [root, child] = flag.option.split('.');
      expect(Object.keys(schema), flag.flag).toContain(root);
      if (child) expect(nested(schema[root!]), flag.flag).toContain(child);
    }
  });

  it('points --help at README sections that exist', () => {
    const headings = [...readme.matchAll(/^#{2,4} (.+)$/gm)].map((match) => match[1]);
    for (const { section } of [...FILE_ONLY_SETTINGS, ...COMMANDS]) expect(headings).toContain(section);
  });
});
