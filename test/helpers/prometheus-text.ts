/**
 * A strict parser of Prometheus' text exposition (0.0.4) and OpenMetrics 1.0.0, for tests that
 * scrape the proxy: every line must be well-formed, every sample must belong to a declared
 * family with a suffix its type allows, no series may repeat, and histograms must be
 * consistent (cumulative buckets, `+Inf` equal to `_count`). Anything else throws.
 */

export type Format = 'prometheus' | 'openmetrics';

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string | undefined;
  unit: string | undefined;
  samples: ParsedSample[];
}

export interface Scrape {
  families: Map<string, ParsedFamily>;
  /** The value of the one sample with exactly these labels, or undefined. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** The sum of the samples of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
  samples(name: string): ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'unknown', 'info', 'stateset', 'gaugehistogram']);

function fail(line: number, text: string, why: string): never {
  throw new Error(`metrics line ${line}: ${why}: ${JSON.stringify(text)}`);
}

function parseValue(text: string, line: number, raw: string): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) fail(line, raw, `bad value ${text}`);
  return Number(text);
}

function parseLabels(text: string, line: number, raw: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let rest = text.slice(1);
  for (;;) {
    if (rest.startsWith('}')) return { labels, rest: rest.slice(1) };
    const name = LABEL_NAME.exec(rest)?.[0];
    if (!name) fail(line, raw, 'bad label name');
    rest = rest.slice(name.length);
    if (!rest.startsWith('="')) fail(line, raw, 'expected ="');
    rest = rest.slice(2);
    let value = '';
    for (;;) {
      const char = rest[0];
      if (char === undefined || char === '\n') fail(line, raw, 'unterminated label value');
      if (char === '"') break;
      if (char === '\\') {
        const next = rest[1];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else fail(line, raw, 'bad escape in label value');
        rest = rest.slice(2);
      } else {
        value += char;
        rest = rest.slice(1);
      }
    }
    rest = rest.slice(1);
    if (name in labels) fail(line, raw, `label ${name} repeated`);
    labels[name] = value;
    if (rest.startsWith(',')) rest = rest.slice(1);
    else if (!rest.startsWith('}')) fail(line, raw, 'expected , or }');
  }
}

function familyOf(sampleName: string, families: Map<string, ParsedFamily>, format: Format): ParsedFamily | undefined {
  const exact = families.get(sampleName);
  if (exact && exact.type !== 'histogram' && !(format === 'openmetrics' && exact.type === 'counter')) return exact;
  for (const suffix of ['_total', '_bucket', '_sum', '_count', '_created']) {
    if (!sampleName.endsWith(suffix)) continue;
    const family = families.get(sampleName.slice(0, -suffix.length));
    if (!family) continue;
    if (family.type === 'counter' && format === 'openmetrics' && (suffix === '_total' || suffix === '_created')) return family;
    if (family.type === 'histogram' && suffix !== '_total') return family;
  }
  return undefined;
}

export function parseExposition(text: string, format: Format): Scrape {
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('metrics text must end with a newline');
  lines.pop();
  let eof = false;
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (eof) fail(line, raw, 'text after # EOF');
    if (raw === '# EOF') {
      if (format !== 'openmetrics') fail(line, raw, '# EOF outside OpenMetrics');
      eof = true;
      return;
    }
    if (raw.startsWith('#')) {
      const match = /^# (HELP|TYPE|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(raw);
      if (!match) {
        if (format === 'openmetrics') fail(line, raw, 'unknown comment');
        return;
      }
      const [, kind, name, rest] = match as unknown as [string, string, string, string];
      let family = families.get(name);
      if (!family) {
        family = { name, type: 'untyped', help: undefined, unit: undefined, samples: [] };
        families.set(name, family);
      } else if (family.samples.length > 0) fail(line, raw, 'metadata after samples');
      if (kind === 'TYPE') {
        if (!TYPES.has(rest)) fail(line, raw, 'unknown type');
        if (format === 'openmetrics' && rest === 'counter' && name.endsWith('_total')) fail(line, raw, 'OpenMetrics counter family named with _total');
        if (format === 'prometheus' && rest === 'counter' && !name.endsWith('_total')) fail(line, raw, 'counter sample name without _total');
        family.type = rest;
      } else if (kind === 'HELP') {
        if (family.help !== undefined) fail(line, raw, 'HELP repeated');
        family.help = rest;
      } else {
        if (!name.endsWith(`_${rest}`)) fail(line, raw, 'UNIT is not the suffix of the name');
        family.unit = rest;
      }
      return;
    }
    if (raw.trim() === '') {
      if (format === 'openmetrics') fail(line, raw, 'blank line');
      return;
    }
    const name = METRIC_NAME.exec(raw)?.[0];
    if (!name) fail(line, raw, 'bad metric name');
    let rest = raw.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line, raw));
    const parts = rest.split(' ');
    if (parts[0] !== '' || parts.length < 2 || parts.length > 3) fail(line, raw, 'expected one space, a value and an optional timestamp');
    const value = parseValue(parts[1]!, line, raw);
    const family = familyOf(name, families, format);
    if (!family || family.type === 'untyped') fail(line, raw, `sample of an undeclared family`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) fail(line, raw, 'series repeated');
    seen.add(key);
    if (family.type === 'counter' && (value < 0 || Number.isNaN(value))) fail(line, raw, 'negative counter');
    family.samples.push({ name, labels, value });
  });
  if (format === 'openmetrics' && !eof) throw new Error('OpenMetrics text must end with # EOF');

  for (const family of families.values()) {
    if (family.type !== 'histogram') continue;
    const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
    for (const sample of family.samples) {
      const { le, ...rest } = sample.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      const group = groups.get(key) ?? { buckets: [] };
      groups.set(key, group);
      if (sample.name.endsWith('_bucket')) {
        if (le === undefined) throw new Error(`${family.name}: bucket without le`);
        group.buckets.push([le === '+Inf' ? Infinity : Number(le), sample.value]);
      } else if (sample.name.endsWith('_count')) group.count = sample.value;
    }
    for (const [key, group] of groups) {
      const sorted = [...group.buckets].sort((a, b) => a[0] - b[0]);
      if (sorted.at(-1)?.[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
      sorted.forEach(([, count], index) => {
        if (index > 0 && count < sorted[index - 1]![1]) throw new Error(`${family.name}${key}: buckets not cumulative`);
      });
      if (sorted.at(-1)![1] !== group.count) throw new Error(`${family.name}${key}: +Inf bucket differs from _count`);
    }
  }

  const all = () => [...families.values()].flatMap((family) => family.samples);
  const matches = (sample: ParsedSample, labels: Record<string, string>) => Object.entries(labels).every(([name, value]) => sample.labels[name] === value);
  return {
    families,
    samples: (name) => all().filter((sample) => sample.name === name),
    value(name, labels = {}) {
      const found = all().filter(
        (sample) => sample.name === name && Object.keys(sample.labels).length === Object.keys(labels).length && matches(sample, labels),
      );
      return found[0]?.value;
    },
    sum(name, labels = {}) {
      return all()
        .filter((sample) => sample.name === name && matches(sample, labels))
        .reduce((total, sample) => total + sample.value, 0);
    },
  };
}
