// The Prometheus text exposition format (version 0.0.4), for the few metric kinds Burrow keeps:
// counters, gauges and histograms with labels. Written here rather than taken from prom-client,
// which loads about 8 MiB of modules (push gateway, cluster aggregation, default collectors) that
// Burrow never uses, and idle memory is a bound (docs/benchmarks.md).

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

/** A label value as the format wants it: backslash, double quote and newline escaped. */
function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

/** HELP text escapes backslash and newline only. */
function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** `{a="1",b="2"}` in the declared label order, or "" for no labels. */
function formatLabels(names: readonly string[], labels: Labels, extra?: [string, string]): string {
  const pairs = names.map((name) => `${name}="${escapeLabelValue(labels[name] ?? "")}"`);
  if (extra !== undefined) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`;
}

interface Spec {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

interface Metric {
  render(): string;
}

abstract class Series<Value> implements Metric {
  protected readonly series = new Map<string, { labels: Labels; value: Value }>();
  readonly labelNames: readonly string[];
  constructor(
    readonly spec: Spec,
    private readonly type: string,
  ) {
    this.labelNames = spec.labelNames ?? [];
  }
  protected entry(labels: Labels, initial: () => Value): { labels: Labels; value: Value } {
    // Built by hand, not map/join: every request records several series, and this is their key.
    // One label (most counters) is its own key.
    const names = this.labelNames;
    let key: string;
    if (names.length === 1) key = labels[names[0]!] ?? "";
    else {
      key = "";
      for (const name of names) key += `${labels[name] ?? ""}\u0000`;
    }
    let found = this.series.get(key);
    if (found === undefined) {
      found = { labels: { ...labels }, value: initial() };
      this.series.set(key, found);
    }
    return found;
  }
  protected abstract lines(labels: Labels, value: Value): string[];
  render(): string {
    const out = [`# HELP ${this.spec.name} ${escapeHelp(this.spec.help)}`, `# TYPE ${this.spec.name} ${this.type}`];
    for (const { labels, value } of this.series.values()) out.push(...this.lines(labels, value));
    return out.join("\n");
  }
}

export class Counter extends Series<number> {
  constructor(spec: Spec) {
    super(spec, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError("A counter only goes up");
    this.entry(labels, () => 0).value += by;
  }
  /** One series, found once: for a caller that counts the same labels again and again. */
  one(labels: Labels): { inc(): void } {
    const entry = this.entry(labels, () => 0);
    return { inc: () => void (entry.value += 1) };
  }
  protected lines(labels: Labels, value: number): string[] {
    return [`${this.spec.name}${formatLabels(this.labelNames, labels)} ${formatNumber(value)}`];
  }
}

export class Gauge extends Series<number> {
  constructor(spec: Spec) {
    super(spec, "gauge");
  }
  set(labels: Labels, value: number): void {
    this.entry(labels, () => 0).value = value;
  }
  reset(): void {
    this.series.clear();
  }
  protected lines(labels: Labels, value: number): string[] {
    return [`${this.spec.name}${formatLabels(this.labelNames, labels)} ${formatNumber(value)}`];
  }
}

interface HistogramValue {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

export class Histogram extends Series<HistogramValue> {
  private readonly bounds: readonly number[];
  constructor(spec: Spec & { buckets: readonly number[] }) {
    super(spec, "histogram");
    this.bounds = [...spec.buckets].sort((a, b) => a - b);
  }
  observe(labels: Labels, value: number): void {
    this.record(
      this.entry(labels, () => this.empty()),
      value,
    );
  }
  /** One series, found once: for a caller that observes the same labels again and again. */
  one(labels: Labels): { observe(value: number): void } {
    const entry = this.entry(labels, () => this.empty());
    return { observe: (value) => this.record(entry, value) };
  }
  private empty(): HistogramValue {
    return { buckets: new Array(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }
  private record(entry: { value: HistogramValue }, value: number): void {
    let slot = 0;
    while (slot < this.bounds.length && !(value <= this.bounds[slot]!)) slot++;
    entry.value.buckets[slot]! += 1;
    entry.value.sum += value;
    entry.value.count += 1;
  }
  protected lines(labels: Labels, value: HistogramValue): string[] {
    const { name } = this.spec;
    const out: string[] = [];
    let cumulative = 0;
    for (const [index, bound] of [...this.bounds, Number.POSITIVE_INFINITY].entries()) {
      cumulative += value.buckets[index]!;
      out.push(`${name}_bucket${formatLabels(this.labelNames, labels, ["le", formatNumber(bound)])} ${cumulative}`);
    }
    const plain = formatLabels(this.labelNames, labels);
    out.push(`${name}_sum${plain} ${formatNumber(value.sum)}`, `${name}_count${plain} ${value.count}`);
    return out;
  }
}

/** The metrics one scrape renders, in the order they were registered. */
export class Registry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
  render(): string {
    return `${this.metrics.map((metric) => metric.render()).join("\n")}\n`;
  }
}
