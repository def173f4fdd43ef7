// A small Prometheus registry (text exposition format 0.0.4): counters and gauges with labels, histograms with
// fixed buckets. Enough for /metrics; not a client library (no summaries, no push).
type Labels = Readonly<Record<string, string>>;

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelStr = (l: Labels): string => {
  const e = Object.entries(l);
  return e.length ? `{${e.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
};
const num = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');

interface Metric { readonly name: string; readonly help: string; readonly type: 'counter' | 'gauge' | 'histogram'; render(): string[] }

export class Counter implements Metric {
  readonly type = 'counter';
  private readonly values = new Map<string, { labels: Labels; v: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelStr(labels);
    const e = this.values.get(k) ?? { labels, v: 0 };
    e.v += by;
    this.values.set(k, e);
  }
  get(labels: Labels = {}): number { return this.values.get(labelStr(labels))?.v ?? 0; }
  render(): string[] { return [...this.values.values()].map((e) => `${this.name}${labelStr(e.labels)} ${num(e.v)}`); }
}

export class Gauge implements Metric {
  readonly type = 'gauge';
  private readonly values = new Map<string, { labels: Labels; v: number | (() => number) }>();
  constructor(readonly name: string, readonly help: string) {}
  set(v: number | (() => number), labels: Labels = {}): void { this.values.set(labelStr(labels), { labels, v }); }
  delete(labels: Labels): void { this.values.delete(labelStr(labels)); }
  render(): string[] {
    return [...this.values.values()].map((e) => `${this.name}${labelStr(e.labels)} ${num(typeof e.v === 'function' ? e.v() : e.v)}`);
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram';
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; n: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: readonly number[]) {}
  observe(v: number, labels: Labels = {}): void {
    const k = labelStr(labels);
    let s = this.series.get(k);
    if (!s) { s = { labels, counts: this.buckets.map(() => 0), sum: 0, n: 0 }; this.series.set(k, s); }
    this.buckets.forEach((b, i) => { if (v <= b) s!.counts[i]++; });
    s.sum += v;
    s.n++;
  }
  render(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelStr({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelStr({ ...s.labels, le: '+Inf' })} ${s.n}`);
      out.push(`${this.name}_sum${labelStr(s.labels)} ${num(s.sum)}`);
      out.push(`${this.name}_count${labelStr(s.labels)} ${s.n}`);
    }
    return out;
  }
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Every metric the server exports. */
export class ServeMetrics {
  readonly requests = new Counter('lorakit_requests_total', 'HTTP requests by route and status code');
  readonly promptTokens = new Counter('lorakit_prompt_tokens_total', 'Prompt tokens processed, by model');
  readonly completionTokens = new Counter('lorakit_completion_tokens_total', 'Completion tokens generated, by model');
  readonly queueDepth = new Gauge('lorakit_queue_depth', 'Sequences waiting to be admitted');
  readonly runningBatch = new Gauge('lorakit_running_batch_size', 'Sequences in the running batch');
  readonly adapterLoads = new Counter('lorakit_adapter_loads_total', 'Adapters read from disk into host memory');
  readonly adapterSlotLoads = new Counter('lorakit_adapter_slot_loads_total', 'Adapters written into a resident slot (cache misses)');
  readonly adapterEvictions = new Counter('lorakit_adapter_evictions_total', 'Resident adapters evicted (least recently used, not in use)');
  readonly adapterHits = new Counter('lorakit_adapter_cache_hits_total', 'Requests whose adapter was already resident');
  readonly cacheHitRate = new Gauge('lorakit_adapter_cache_hit_rate', 'hits / (hits + slot loads) since start');
  readonly residentAdapters = new Gauge('lorakit_adapters_resident', 'Adapters resident in slots');
  readonly adapterResident = new Gauge('lorakit_adapter_resident', 'Per adapter: 1 when resident in a slot, else 0');
  readonly requestLatency = new Histogram('lorakit_request_latency_seconds', 'Time from request to last token, by endpoint', SECONDS);
  readonly ttft = new Histogram('lorakit_time_to_first_token_seconds', 'Time from admission queue entry to first token', SECONDS);
  readonly stepLatency = new Histogram(
    'lorakit_engine_step_seconds',
    'Engine session runs, by kind (prefill, decode)',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  );
  readonly modelsPerStep = new Histogram('lorakit_engine_models_per_decode_step', 'Distinct models (adapters + base) in the rows of a decode step',
    [1, 2, 3, 4, 8, 16, 32]);
  readonly adapterLoadSeconds = new Histogram('lorakit_adapter_load_seconds', 'Cold adapter load from disk', SECONDS);
  readonly adapterSwitchSeconds = new Histogram(
    'lorakit_adapter_switch_seconds',
    'Writing an adapter into a slot (memcpy)',
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
  );

  private all(): Metric[] {
    return [this.requests, this.promptTokens, this.completionTokens, this.queueDepth, this.runningBatch, this.adapterLoads, this.adapterSlotLoads,
      this.adapterEvictions, this.adapterHits, this.cacheHitRate, this.residentAdapters, this.adapterResident,
      this.requestLatency, this.ttft, this.stepLatency,
      this.modelsPerStep, this.adapterLoadSeconds, this.adapterSwitchSeconds];
  }

  render(): string {
    return this.all().map((m) => [`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.render()].join('\n')).join('\n') + '\n';
  }
}
