/**
 * Generates README.md's option tables from their one source each: the library's options from the
 * doc comments in lib/options/types.ts (first sentence and `@default`), the command line's from
 * the flag table in adapters/cli/flags.ts. test/unit/readme.test.ts fails when README.md differs;
 * `npm run readme` rewrites the tables in place.
 */
import ts from 'typescript';
import { FLAGS, flagSyntax, type Flag } from '../adapters/cli/flags.ts';

export interface OptionDoc {
  name: string;
  summary: string;
  default: string | undefined;
}

/** Every property of every interface in the file, with its doc comment. */
export function readOptionDocs(source: string): Map<string, OptionDoc[]> {
  const file = ts.createSourceFile('types.ts', source, ts.ScriptTarget.Latest, true);
  const interfaces = new Map<string, OptionDoc[]>();
  for (const statement of file.statements) {
    if (!ts.isInterfaceDeclaration(statement)) continue;
    const docs: OptionDoc[] = [];
    for (const member of statement.members) {
      if (!ts.isPropertySignature(member) && !ts.isMethodSignature(member)) continue;
      const jsDoc = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc).at(-1);
      const comment = ts.getTextOfJSDocComment(jsDoc?.comment) ?? '';
      const tag = jsDoc?.tags?.find((candidate) => candidate.tagName.text === 'default');
      // An inline `@default x` in a one-line comment ends up in the tag too.
      docs.push({
        name: member.name.getText(file),
        summary: firstSentence(comment),
        default: tag ? (ts.getTextOfJSDocComment(tag.comment) ?? '').trim() : undefined,
      });
    }
    interfaces.set(statement.name.text, docs);
  }
  return interfaces;
}

function firstSentence(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  // "e.g." and "i.e." do not end a sentence.
  const end = flat.search(/(?<!\be\.g|\bi\.e)\.(?=\s)/);
  return end === -1 ? flat : flat.slice(0, end + 1);
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function defaultCell(value: string | undefined): string {
  if (value === undefined || value === '') return '—';
  return /^[-'"\d[{]|^(true|false|null)$/.test(value) ? `\`${value}\`` : value;
}

function optionTable(rows: Array<OptionDoc & { path: string }>): string {
  const lines = ['| option | default | meaning |', '|---|---|---|'];
  for (const row of rows) lines.push(`| \`${row.path}\` | ${cell(defaultCell(row.default))} | ${cell(row.summary)} |`);
  return lines.join('\n');
}

function interfaceOf(docs: Map<string, OptionDoc[]>, name: string): OptionDoc[] {
  const found = docs.get(name);
  if (!found) throw new Error(`lib/options/types.ts has no interface ${name}`);
  return found;
}

/** The tables README.md carries between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`. */
export function generatedTables(typesSource: string): Record<string, string> {
  const docs = readOptionDocs(typesSource);
  const at = (prefix: string, list: OptionDoc[]) => list.map((doc) => ({ ...doc, path: `${prefix}${doc.name}` }));
  const top = [...interfaceOf(docs, 'UpstreamSettings'), ...interfaceOf(docs, 'RegistryProxyOptions')].flatMap((doc) =>
    doc.name === 'timeouts' ? at('timeouts.', interfaceOf(docs, 'RegistryProxyTimeouts')) : [{ ...doc, path: doc.name }],
  );
  const route = interfaceOf(docs, 'UpstreamRoute');
  const auth = [...at('auth.', interfaceOf(docs, 'ClientAuthOptions')), ...at('auth.users.<name>.', interfaceOf(docs, 'ProxyUser'))];

  const flagLines = ['| flag | variables | sets | meaning |', '|---|---|---|---|'];
  for (const flag of FLAGS as readonly Flag[]) {
    const env = flag.env.map((name) => `\`${name}\``).join(', ') || '—';
    const sets = flag.option === undefined ? '—' : `\`${flag.option}\`${flag.set === undefined ? '' : ` = \`${JSON.stringify(flag.set)}\``}`;
    flagLines.push(`| \`${cell(flagSyntax(flag))}\` | ${env} | ${sets} | ${cell(flag.description)} |`);
  }

  return {
    options: optionTable(top),
    'route-options': optionTable(at('', route)),
    'access-rule': optionTable(at('', interfaceOf(docs, 'AccessRule'))),
    'auth-options': optionTable(auth),
    flags: flagLines.join('\n'),
  };
}

/** README.md with every generated block replaced; throws when a block's markers are missing. */
export function renderReadme(readme: string, tables: Record<string, string>): string {
  let text = readme;
  for (const [name, table] of Object.entries(tables)) {
    const block = new RegExp(`(<!-- generated:${name} [^>]*-->\\n)(?:[\\s\\S]*?\\n)?(<!-- /generated:${name} -->)`);
    if (!block.test(text)) throw new Error(`README.md lacks <!-- generated:${name} … --> … <!-- /generated:${name} -->`);
    text = text.replace(block, (_match, open: string, close: string) => `${open}${table}\n${close}`);
  }
  return text;
}
