// Runs a suite on a base model and (optionally) base + adapter: the same items with the same settings for both,
// per-item scores, paired bootstrap intervals, train/serve parity, the gate, and the report.
import { LorakitError } from '../errors.js';
import { type Adapter, bindAdapter } from '../lora/adapter.js';
import { type LoadedAdapter, loadAdapterFor } from '../lora/load.js';
import { CausalLM, type LinearAdapter } from '../models/causal-lm.js';
import { type Checkpoint, loadCheckpoint } from '../models/checkpoint.js';
import type { QuantOptions } from '../models/quant/scheme.js';
import { trainedPrecisionPath } from './precision.js';
import { fingerprintAdapterDir, fingerprintModelDir } from '../models/fingerprint.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { decideGate } from './gate.js';
import { INT8_COMPUTE_NEAR_TIE_GAP, type MissingPath, type ParityPath, decodePath, mergedPath, runParity, trainingPath } from './parity.js';
import { scoreChoices, runGeneration, scoreTexts } from './scoring.js';
import { loadChoiceItems, loadGenerationItems, loadTexts } from './sources.js';
import { type ItemValues, type TaskData, summarize } from './stats.js';
import type { EvalReport, ItemRecord, ParityReport, PerplexityTask, Suite, TaskSpec } from './types.js';

export interface EvalProgress {
  readonly phase: 'task' | 'parity';
  readonly task?: string;
  readonly model?: 'base' | 'adapter';
  readonly done: number;
  readonly total: number;
}

/** Context handed to parity-path factories (e.g. the server path the CLI builds from src/serve). */
export interface ParityContext {
  readonly modelDir: string;
  readonly adapterDir: string;
  readonly base: Checkpoint;
  readonly adapter: LoadedAdapter;
  readonly threads?: number;
}

export interface EvaluateOptions {
  readonly modelDir: string;
  /** Quantize the base while loading (ignored when `base` is given: it carries its own quantization). */
  readonly quantize?: QuantOptions;
  readonly suite: Suite;
  /** A PEFT adapter folder; without it only the base is scored and the gate is not applied. */
  readonly adapterDir?: string;
  /** The registry reference the adapter came from (recorded in the report). */
  readonly adapterRef?: string | null;
  /** Overrides the suite's bootstrap seed. */
  readonly seed?: number;
  readonly threads?: number;
  /** Rows per scoring run (default 8 windows / 16 choices / 8 prompts). */
  readonly batchSize?: number;
  /** The adapter as the trainer holds it in memory (the "train" parity path); default: its tensors as read from
   *  adapterDir, and the report's train path then says so. */
  readonly trainedAdapter?: Pick<Adapter, 'config' | 'sites' | 'tensors'>;
  /** More parity paths (e.g. the server), compared with the training forward pass. */
  readonly parityPaths?: (ctx: ParityContext) => Promise<{ paths: ParityPath[]; missing: MissingPath[] }>;
  readonly onProgress?: (e: EvalProgress) => void;
  /** An already loaded checkpoint of modelDir (saves a second load when the caller has one). */
  readonly base?: Checkpoint;
}

export interface EvaluateResult { readonly report: EvalReport; readonly items: ItemRecord[] }

interface Ctx {
  readonly lm: CausalLM;
  readonly tok: Tokenizer;
  readonly base: Checkpoint;
  readonly binding?: LinearAdapter;
  readonly o: EvaluateOptions;
}

type Model = 'base' | 'adapter';
const f64 = (xs: readonly number[]): Float64Array => Float64Array.from(xs);

async function perplexityTask(c: Ctx, task: PerplexityTask): Promise<{ data: TaskData; items: ItemRecord[] }> {
  const { texts, single } = loadTexts(c.o.suite, task);
  const maxPos = c.base.config.maxPositionEmbeddings;
  const window = task.window ?? Math.min(512, maxPos);
  if (window > maxPos) {
    throw new LorakitError('LK_EVAL', `task '${task.name}': window ${window} exceeds the model's max_position_embeddings ${maxPos}`);
  }
  const stride = task.stride ?? Math.max(1, Math.floor(window / 2));
  let budget = task.maxTokens ?? Infinity;
  const docs: number[][] = [];
  for (const t of texts) {
    if (budget < 2) break;
    const ids = c.tok.encode(t).slice(0, Math.min(task.maxTokensPerDocument ?? Infinity, budget));
    if (ids.length < 2) continue;
    docs.push(ids);
    budget -= ids.length;
  }
  if (docs.length === 0) throw new LorakitError('LK_EVAL', `task '${task.name}': no text with at least 2 tokens`);
  const unit = task.unit ?? (single ? 'window' : 'document');
  const run = async (model: Model): Promise<ItemValues> => {
    const w = await scoreTexts(c.lm, docs, {
      window,
      stride,
      batchSize: c.o.batchSize,
      adapter: model === 'base' ? undefined : c.binding,
      onProgress: (done, total) => c.o.onProgress?.({ phase: 'task', task: task.name, model, done, total }),
    });
    if (unit === 'window') return { metric: 'perplexity', nll: f64(w.map((x) => x.nll)), tokens: f64(w.map((x) => x.tokens)) };
    const nll = new Float64Array(docs.length), tokens = new Float64Array(docs.length);
    for (const x of w) { nll[x.doc] += x.nll; tokens[x.doc] += x.tokens; }
    return { metric: 'perplexity', nll, tokens };
  };
  const base = await run('base');
  const adapter = c.binding ? await run('adapter') : null;
  const sum = (v: ItemValues): [number, number] =>
    v.metric === 'perplexity' ? [v.nll.reduce((a, b) => a + b, 0), v.tokens.reduce((a, b) => a + b, 0)] : [0, 1];
  const [bn, bt] = sum(base), [an, at] = adapter ? sum(adapter) : [NaN, 1];
  const items: ItemRecord[] = Array.from((base as { nll: Float64Array }).nll, (_, i) => ({
    task: task.name, item: i, base: { nll: (base as { nll: Float64Array }).nll[i], tokens: (base as { tokens: Float64Array }).tokens[i] },
    adapter: adapter ? { nll: (adapter as { nll: Float64Array }).nll[i], tokens: (adapter as { tokens: Float64Array }).tokens[i] } : null,
  }));
  return {
    data: {
      task, base, adapter, scoredTokens: bt,
      detail: `perplexity (window ${window}, stride ${stride}, ${docs.length} ${single ? 'text' : 'documents'}, resampled by ${unit})`,
      extra: { nll_per_token: { base: bn / bt, adapter: adapter ? an / at : null } },
    },
    items,
  };
}

/** A task with no items would score 0/0 and could never show anything: refused (issue 13). */
function noEmpty<T>(task: TaskSpec, items: T[]): T[] {
  if (items.length === 0) {
    const hint = 'check its source file (empty?) and max_items';
    throw new LorakitError('LK_EVAL', `task '${task.name}' has no items`, { hint, details: { task: task.name } });
  }
  return items;
}

async function accuracyTask(c: Ctx, task: Exclude<TaskSpec, PerplexityTask>): Promise<{ data: TaskData; items: ItemRecord[] }> {
  if (task.type === 'generation') {
    const list = noEmpty(task, loadGenerationItems(c.o.suite, task));
    const eos = c.tok.eosTokenIds.length ? c.tok.eosTokenIds : c.base.generationConfig.eosTokenIds;
    const run = (model: Model) =>
      runGeneration(c.lm, c.tok, list, task, {
        batchSize: c.o.batchSize,
        adapter: model === 'base' ? undefined : c.binding,
        eosTokenIds: eos,
        onProgress: (done, total) => c.o.onProgress?.({ phase: 'task', task: task.name, model, done, total }),
      });
    const base = await run('base');
    const adapter = c.binding ? await run('adapter') : null;
    const acc = (xs: { correct: boolean }[]): ItemValues => ({ metric: 'accuracy', correct: f64(xs.map((x) => (x.correct ? 1 : 0))) });
    return {
      data: {
        task,
        base: acc(base),
        adapter: adapter ? acc(adapter) : null,
        scoredTokens: null,
        extra: {},
        detail: `accuracy (${task.match} match, greedy, <= ${task.maxNewTokens} new tokens)`,
      },
      items: base.map((b, i) => ({
        task: task.name,
        item: i,
        base: { output: b.output, correct: b.correct },
        adapter: adapter ? { output: adapter[i].output, correct: adapter[i].correct } : null,
      })),
    };
  }
  const list = noEmpty(task, loadChoiceItems(c.o.suite, task));
  const run = (model: Model) =>
    scoreChoices(c.lm, c.tok, list, {
      delimiter: task.delimiter,
      batchSize: c.o.batchSize ? c.o.batchSize * 2 : undefined,
      adapter: model === 'base' ? undefined : c.binding,
      onProgress: (done, total) => c.o.onProgress?.({ phase: 'task', task: task.name, model, done, total }),
    });
  const base = await run('base');
  const adapter = c.binding ? await run('adapter') : null;
  const hit = (xs: { pred: number; predNorm: number }[], norm: boolean): Float64Array =>
    f64(xs.map((x, i) => ((norm ? x.predNorm : x.pred) === list[i].answer ? 1 : 0)));
  const mean = (a: Float64Array): number => (100 * a.reduce((s, v) => s + v, 0)) / a.length;
  const norm = task.metric === 'acc_norm';
  return {
    data: {
      task, base: { metric: 'accuracy', correct: hit(base, norm) },
      adapter: adapter ? { metric: 'accuracy', correct: hit(adapter, norm) } : null, scoredTokens: null,
      detail: `${task.metric} (log-likelihood over ${list[0]?.choices.length ?? 0} choices)`,
      extra: {
        acc: { base: mean(hit(base, false)), adapter: adapter ? mean(hit(adapter, false)) : null },
        acc_norm: { base: mean(hit(base, true)), adapter: adapter ? mean(hit(adapter, true)) : null },
      },
    },
    items: base.map((b, i) => ({
      task: task.name,
      item: i,
      base: { lls: b.lls, pred: b.pred, pred_norm: b.predNorm, answer: list[i].answer },
      adapter: adapter
        ? { lls: adapter[i].lls, pred: adapter[i].pred, pred_norm: adapter[i].predNorm, answer: list[i].answer }
        : null,
    })),
  };
}

function summaryLine(r: Pick<EvalReport, 'gate' | 'tags' | 'parity'>, hasAdapter: boolean): string {
  const tag = (t: string, m: string) => r.tags.find((x) => x.tag === t && x.metric === m);
  const parts: string[] = [];
  for (const [t, m] of [['domain', 'perplexity'], ['general', 'perplexity'], ['domain', 'accuracy'], ['general', 'accuracy']] as const) {
    const x = tag(t, m);
    if (!x) continue;
    const fmt = (v: number): string => (m === 'perplexity' ? v.toFixed(3) : `${v.toFixed(1)}%`);
    const delta = (d: NonNullable<typeof x.delta>): string =>
      `${d.value >= 0 ? '+' : ''}${d.value.toFixed(2)}${d.unit === 'pct' ? '%' : ' pts'}`;
    parts.push(
      x.adapter && x.delta
        ? `${t} ${m} ${fmt(x.base.value)} → ${fmt(x.adapter.value)} (${delta(x.delta)})`
        : `${t} ${m} ${fmt(x.base.value)}`,
    );
  }
  if (r.parity) parts.push(`parity ${r.parity.passed ? 'ok' : 'BROKEN'}`);
  if (!hasAdapter) return `base only: ${parts.join('; ')}`;
  const n = r.gate.reasons.length;
  const failed = r.gate.passed ? '' : ` — ${n} check${n > 1 ? 's' : ''} failed`;
  return `${r.gate.passed ? 'PASSED' : 'FAILED'}: ${parts.join('; ')}${failed}`;
}

export async function evaluate(o: EvaluateOptions): Promise<EvaluateResult> {
  const t0 = performance.now();
  const base = o.base ?? await loadCheckpoint(o.modelDir, { tokenizer: true, quantize: o.quantize });
  const tok = base.tokenizer;
  if (!tok) throw new LorakitError('LK_TOKENIZER', `'${o.modelDir}' has no tokenizer.json; evaluation needs one`);
  const modelFp = (await fingerprintModelDir(o.modelDir)).fingerprint;
  const loaded = o.adapterDir ? await loadAdapterFor(base, o.adapterDir) : undefined;
  const lm = new CausalLM(base.config, base.weights, base.shapes, { threads: o.threads, quant: base.quant });
  const c: Ctx = { lm, tok, base, binding: loaded?.binding, o };
  const data: TaskData[] = [], items: ItemRecord[] = [], taskSeconds: Record<string, number> = {};
  for (const task of o.suite.tasks) {
    const ts = performance.now();
    const r = task.type === 'perplexity' ? await perplexityTask(c, task) : await accuracyTask(c, task);
    data.push(r.data);
    items.push(...r.items);
    taskSeconds[task.name] = (performance.now() - ts) / 1000;
  }
  const seed = o.seed ?? o.suite.seed;
  const { tasks, tags } = summarize(data, { bootstrap: o.suite.bootstrap, seed, confidence: o.suite.confidence });

  let parity: ParityReport | null = null, paritySeconds: number | null = null;
  if (loaded && o.adapterDir) {
    const tp = performance.now();
    const spec = o.suite.parity;
    const probes = spec.probes.map((p) => tok.encode(p));
    const trained = o.trainedAdapter ?? loaded;
    const binding = bindAdapter({ config: trained.config, sites: trained.sites, tensors: new Map(trained.tensors) });
    const paths: ParityPath[] = [trainingPath(lm, binding, o.trainedAdapter ? 'trainer' : 'folder')];
    paths.push(decodePath('adapter', 'PEFT folder loaded with loadAdapterFor (decode graph, KV cache, batched generate)', lm, loaded.binding));
    paths.push(await mergedPath(base, loaded, spec.mergedDtype, o.threads));
    const otherPrecision = await trainedPrecisionPath(base, loaded, o.threads);
    if (otherPrecision) paths.push(otherPrecision);
    let extra: Awaited<ReturnType<NonNullable<EvaluateOptions['parityPaths']>>> = { paths: [], missing: [] };
    try {
      if (o.parityPaths) extra = await o.parityPaths({ modelDir: o.modelDir, adapterDir: o.adapterDir, base, adapter: loaded, threads: o.threads });
    } catch (e) {
      // The caller's paths could not be built: recorded as not run, which fails parity with the reason shown.
      extra = { paths: [], missing: [{ name: 'caller-supplied', reason: `the caller's parity paths could not be built: ${(e as Error).message}` }] };
    }
    paths.push(...extra.paths);
    o.onProgress?.({ phase: 'parity', done: 0, total: paths.length });
    const nearTieGap = base.quant?.scheme.accuracy === 'int8' ? Math.max(spec.tolerance, INT8_COMPUTE_NEAR_TIE_GAP) : spec.tolerance;
    parity = await runParity(paths, extra.missing, spec.probes, probes, { ...spec, nearTieGap });
    o.onProgress?.({ phase: 'parity', done: paths.length, total: paths.length });
    paritySeconds = (performance.now() - tp) / 1000;
  }
  const gate = decideGate(o.suite.gate, tasks, parity, loaded !== undefined);
  const report: EvalReport = {
    suite: o.suite.name, passed: gate.passed, schema: 'lorakit.eval/1', summary: summaryLine({ gate, tags, parity }, loaded !== undefined),
    suite_origin: o.suite.origin, created_at: new Date().toISOString(),
    model: { dir: base.dir, fingerprint: modelFp, architecture: base.config.modelType, parameters: base.parameters, quantization: base.quantization },
    adapter:
      loaded && o.adapterDir
        ? {
            dir: o.adapterDir,
            ref: o.adapterRef ?? null,
            fingerprint: (await fingerprintAdapterDir(o.adapterDir)).fingerprint,
            base_fingerprint: loaded.baseFingerprint ?? null,
          }
        : null,
    settings: { seed, bootstrap: o.suite.bootstrap, confidence: o.suite.confidence },
    tasks, tags, parity, gate,
    timing: { seconds: (performance.now() - t0) / 1000, tasks: taskSeconds, parity: paritySeconds },
  };
  return { report, items };
}
