import type { MetricFamily } from './registry.ts';

/**
 * Renders metric families as Prometheus' text format 0.0.4 or as OpenMetrics 1.0.0, chosen by
 * the scraper's `Accept` (Prometheus asks for OpenMetrics first when it can read it).
 */

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** OpenMetrics when the scraper accepts it (and did not refuse it with q=0), else 0.0.4. */
export function negotiateFormat(accept: string | null): ExpositionFormat {
  if (!accept) return 'prometheus';
  for (const part of accept.split(',')) {
    const [type, ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    if (type !== 'application/openmetrics-text') continue;
    const q = params.find((param) => param.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return 'openmetrics';
  }
  return 'prometheus';
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(text: string, format: ExpositionFormat): string {
  const escaped = text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return format === 'openmetrics' ? escaped.replace(/"/g, '\\"') : escaped;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Record<string, string>, extra?: [string, string]): string {
  const parts: string[] = [];
  for (const name in labels) parts.push(`${name}="${escapeLabelValue(labels[name]!)}"`);
  if (extra) parts.push(`${extra[0]}="${extra[1]}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

export function renderExposition(families: MetricFamily[], format: ExpositionFormat): string {
  const lines: string[] = [];
  for (const family of families) {
    const base = family.type === 'counter' ? family.name.replace(/_total$/, '') : family.name;
    // 0.0.4 names a counter family by its sample name; OpenMetrics by the name without `_total`.
    const declared = family.type === 'counter' && format === 'prometheus' ? `${base}_total` : base;
    lines.push(`# HELP ${declared} ${escapeHelp(family.help, format)}`);
    lines.push(`# TYPE ${declared} ${family.type}`);
    if (format === 'openmetrics' && family.unit && base.endsWith(`_${family.unit}`)) lines.push(`# UNIT ${declared} ${family.unit}`);
    if (family.type === 'histogram') {
      const bounds = family.bucketBounds ?? [];
      for (const histogram of family.histograms ?? []) {
        bounds.forEach((bound, index) => {
          lines.push(`${base}_bucket${formatLabels(histogram.labels, ['le', formatNumber(bound)])} ${histogram.buckets[index] ?? 0}`);
        });
        lines.push(`${base}_bucket${formatLabels(histogram.labels, ['le', '+Inf'])} ${histogram.count}`);
        lines.push(`${base}_sum${formatLabels(histogram.labels)} ${formatNumber(histogram.sum)}`);
        lines.push(`${base}_count${formatLabels(histogram.labels)} ${histogram.count}`);
      }
      continue;
    }
    const suffix = family.type === 'counter' ? '_total' : '';
    for (const sample of family.samples ?? []) lines.push(`${base}${suffix}${formatLabels(sample.labels)} ${formatNumber(sample.value)}`);
  }
  if (format === 'openmetrics') lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}
