/**
 * A small metrics registry: counters, gauges and histograms with fixed label names, kept as
 * plain numbers and rendered on demand (see exposition.ts). Written here rather than taken
 * from prom-client, which needs Node's `process`, `perf_hooks` and `cluster`: lib/ must run
 * unchanged on every runtime.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

/** One labelled value of a family, as collectors report it. */
export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/** One labelled histogram of a family: cumulative counts per upper bound, plus sum and count. */
export interface HistogramSample {
  labels: Record<string, string>;
  /** Cumulative counts, one per bucket of the family (the `+Inf` bucket is `count`). */
  buckets: number[];
  sum: number;
  count: number;
}

/** A metric family as rendered: name (without `_total` for counters), help, type, samples. */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  /** Base unit (`seconds`, `bytes`) for OpenMetrics' `# UNIT`; the name must end with it. */
  unit?: string;
  samples?: Sample[];
  /** Histograms only: the upper bounds, ascending, without `+Inf`. */
  bucketBounds?: number[];
  histograms?: HistogramSample[];
}

/** Reports metric families when the registry is scraped (e.g. a cache's counters). */
export type MetricsCollector = () => MetricFamily[];

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Keys a label set by its values in label-name order; \u0001 cannot appear in our values unescaped in a way that collides. */
function keyOf(values: readonly string[]): string {
  return values.length === 1 ? values[0]! : values.join('\u0001');
}

abstract class Family<Child> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected readonly children = new Map<string, { values: readonly string[]; child: Child }>();

  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  /** The child for these label values (in `labelNames` order); hold on to it on hot paths. */
  labels(...values: string[]): Child {
    const key = keyOf(values);
    let entry = this.children.get(key);
    if (!entry) {
      entry = { values, child: this.create() };
      this.children.set(key, entry);
    }
    return entry.child;
  }

  protected labelRecord(values: readonly string[]): Record<string, string> {
    const record: Record<string, string> = {};
    this.labelNames.forEach((name, index) => (record[name] = values[index]!));
    return record;
  }

  protected abstract create(): Child;
  abstract collect(): MetricFamily;
}

export interface CounterChild {
  inc(amount?: number): void;
  readonly value: number;
}

class CounterValue implements CounterChild {
  value = 0;
  inc(amount = 1): void {
    this.value += amount;
  }
}

export class Counter extends Family<CounterChild> {
  protected create(): CounterChild {
    return new CounterValue();
  }
  inc(amount = 1): void {
    this.labels().inc(amount);
  }
  collect(): MetricFamily {
    const samples = [...this.children.values()].map(({ values, child }) => ({ labels: this.labelRecord(values), value: child.value }));
    return { name: this.name.replace(/_total$/, ''), help: this.help, type: 'counter', samples };
  }
}

export interface GaugeChild {
  inc(amount?: number): void;
  dec(amount?: number): void;
  set(value: number): void;
  readonly value: number;
}

class GaugeValue implements GaugeChild {
  value = 0;
  inc(amount = 1): void {
    this.value += amount;
  }
  dec(amount = 1): void {
    this.value -= amount;
  }
  set(value: number): void {
    this.value = value;
  }
}

export class Gauge extends Family<GaugeChild> {
  protected create(): GaugeChild {
    return new GaugeValue();
  }
  collect(): MetricFamily {
    const samples = [...this.children.values()].map(({ values, child }) => ({ labels: this.labelRecord(values), value: child.value }));
    return { name: this.name, help: this.help, type: 'gauge', samples };
  }
}

export interface HistogramChild {
  observe(value: number): void;
}

class HistogramValue implements HistogramChild {
  readonly counts: number[];
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Array<number>(bounds.length).fill(0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    // Counts are per bucket here and made cumulative when collected: one increment per observation.
    for (let index = 0; index < this.#bounds.length; index++) {
      if (value <= this.#bounds[index]!) {
        this.counts[index]!++;
        return;
      }
    }
  }
}

export class Histogram extends Family<HistogramChild> {
  readonly bounds: readonly number[];
  readonly unit: string | undefined;

  constructor(name: string, help: string, labelNames: readonly string[], bounds: readonly number[], unit?: string) {
    super(name, help, labelNames);
    this.bounds = bounds;
    this.unit = unit;
  }
  protected create(): HistogramChild {
    return new HistogramValue(this.bounds);
  }
  collect(): MetricFamily {
    const histograms = [...this.children.values()].map(({ values, child }) => {
      const value = child as HistogramValue;
      let running = 0;
      return { labels: this.labelRecord(values), buckets: value.counts.map((count) => (running += count)), sum: value.sum, count: value.count };
    });
    return { name: this.name, help: this.help, type: 'histogram', unit: this.unit, bucketBounds: [...this.bounds], histograms };
  }
}

/** The families of one proxy, plus collectors registered by other parts (the cache). */
export class MetricsRegistry {
  readonly #families: Family<unknown>[] = [];
  readonly #collectors: MetricsCollector[] = [];
  readonly #names = new Set<string>();

  #claim(name: string, labelNames: readonly string[]): void {
    if (!NAME.test(name)) throw new TypeError(`registry-proxy: invalid metric name ${JSON.stringify(name)}`);
    for (const label of labelNames) {
      if (!LABEL.test(label) || label.startsWith('__') || label === 'le') throw new TypeError(`registry-proxy: invalid label name ${JSON.stringify(label)} on ${name}`);
    }
    if (this.#names.has(name)) throw new TypeError(`registry-proxy: metric ${name} is registered twice`);
    this.#names.add(name);
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    if (!name.endsWith('_total')) throw new TypeError(`registry-proxy: counter ${name} must end in _total`);
    this.#claim(name, labelNames);
    const counter = new Counter(name, help, labelNames);
    this.#families.push(counter);
    return counter;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    this.#claim(name, labelNames);
    const gauge = new Gauge(name, help, labelNames);
    this.#families.push(gauge);
    return gauge;
  }

  histogram(name: string, help: string, labelNames: readonly string[], bounds: readonly number[], unit?: string): Histogram {
    this.#claim(name, labelNames);
    if (bounds.length === 0 || bounds.some((bound, index) => !Number.isFinite(bound) || (index > 0 && bound <= bounds[index - 1]!))) {
      throw new TypeError(`registry-proxy: histogram ${name} needs finite, ascending bucket bounds`);
    }
    const histogram = new Histogram(name, help, labelNames, bounds, unit);
    this.#families.push(histogram);
    return histogram;
  }

  /** Adds families reported at scrape time; their names must not clash with registered ones. */
  registerCollector(collector: MetricsCollector): void {
    if (typeof collector !== 'function') throw new TypeError('registry-proxy: a metrics collector must be a function');
    this.#collectors.push(collector);
  }

  collect(): MetricFamily[] {
    const families = this.#families.map((family) => family.collect());
    const seen = new Set(families.map((family) => family.name));
    for (const collector of this.#collectors) {
      for (const family of collector()) {
        // A collector must not shadow or repeat a family: the exposition would be invalid.
        if (seen.has(family.name) || !NAME.test(family.name)) continue;
        seen.add(family.name);
        families.push(family);
      }
    }
    return families;
  }
}
