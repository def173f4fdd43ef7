// `lorakit pretrain`: full-parameter training of a fresh Llama-architecture model on a text corpus with the same
// engine as LoRA training. One compiled graph computes the summed next-token loss and the gradient of every weight
// (weights are graph inputs by HF name); AdamW with warmup + cosine decay and global-norm clipping runs on the
// Float32Arrays. Checkpoints (weights, moments, data position, RNG) let a killed run continue with --resume. The end
// product is an HF folder in BF16 with a model card whose held-out perplexity is measured on the saved folder.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CompiledGraph, compile, grad } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import { CausalLM } from '../models/causal-lm.js';
import { loadCheckpoint } from '../models/checkpoint.js';
import { generate } from '../models/generate.js';
import { buildCausalLMGraph } from '../models/graphs.js';
import { perplexity } from '../models/perplexity.js';
import { loadTokenizer } from '../models/tokenizer.js';
import { sha256, stableStringify } from '../util/hash.js';
import { appendJsonl } from '../util/jsonl.js';
import { checkOutDir } from '../util/out-dir.js';
import { Rng } from '../util/rng.js';
import { writeFileAtomic } from '../util/atomic.js';
import { type AdamWState, adamwStep, globalNorm, scheduledLr } from './adamw.js';
import { loadLatestCheckpoint, saveCheckpoint, type TrainState } from './checkpoint.js';
import { modelCard } from './pretrain-card.js';
import { buildPretrainData, epochOrder, readCorpus, rowsBatch } from './pretrain-data.js';
import { decays, initWeights, llamaConfigJson, type ModelSize, pretrainConfig, type SpecialIds, writeModelFolder } from './pretrain-model.js';

/** Model size (ModelSize: hidden, layers, heads, kvHeads, intermediate, maxPositions) plus the run's settings. */
export interface PretrainConfig extends ModelSize {
  /** 'brown' and/or text files. */
  readonly corpus: readonly string[];
  /** Tokenizer folder (tokenizer.json + tokenizer_config.json), e.g. from `lorakit tokenizer train`. */
  readonly tokenizer: string;
  readonly out: string;
  /** Checkpoints and metrics.jsonl (default `<out>.run`). */
  readonly runDir?: string;
  /** An HF config.json to use instead of the size flags (vocab_size must cover the tokenizer). */
  readonly configFile?: string;
  readonly steps: number;
  readonly seq: number;
  readonly batch: number;
  readonly lr: number;
  readonly minLrRatio: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly maxGradNorm: number;
  readonly seed: number;
  /** Validation loss every N steps on `evalRows` held-out rows (0 = only at the end). */
  readonly evalEvery: number;
  readonly evalRows: number;
  readonly saveEvery: number;
  readonly threads?: number;
  /** Use only the first N documents (tests). */
  readonly docLimit?: number;
  /** Perplexity sliding-window stride (default seq/2); window is seq. */
  readonly pplStride?: number;
  /** Prompt for the sample in the model card. */
  readonly samplePrompt: string;
  /** The command line, quoted in the model card. */
  readonly commandLine?: string;
}

export { pretrainDefaults } from './pretrain-defaults.js';

export interface PretrainStepMetrics { readonly step: number; readonly loss: number; readonly lr: number; readonly grad_norm: number; readonly tokens_per_s: number; readonly tokens: number; readonly epoch: number; readonly eval_loss?: number }

export interface PretrainStartInfo { readonly parameters: number; readonly trainTokens: number; readonly trainRows: number; readonly heldTokens: number; readonly totalSteps: number; readonly resumedFromStep: number | null; readonly config: Record<string, unknown> }

export interface PretrainHooks {
  onStart?(i: PretrainStartInfo): void;
  onStep?(m: PretrainStepMetrics, total: number): void;
  onCheckpoint?(dir: string, step: number): void;
  /** Phase messages after training (saving, perplexity, sample). */
  onPhase?(what: string): void;
}

export interface PretrainResult {
  readonly out: string;
  readonly runDir: string;
  readonly parameters: number;
  readonly steps: number;
  readonly trainLoss: number;
  /** Mean loss over the last 10% of steps (at most 50). */
  readonly trainLossTail: number;
  readonly evalLoss: number | null;
  readonly heldOutPerplexity: number;
  readonly heldOutTokens: number;
  readonly tokensPerSecond: number;
  readonly trainSeconds: number;
  readonly tokensSeen: number;
  readonly sample: { readonly prompt: string; readonly text: string };
  readonly sizeBytes: number;
}

interface PretrainState extends TrainState { readonly trainSeconds: number; readonly recentLosses: readonly number[] }

function specialIds(tokDir: string, tok: Awaited<ReturnType<typeof loadTokenizer>>): SpecialIds {
  const eos = tok.eosTokenIds[0];
  if (eos === undefined) throw new LorakitError('LK_TOKENIZER', `'${tokDir}' names no eos_token; pretraining joins documents with it`, { hint: 'set eos_token in tokenizer_config.json' });
  const end = tok.tokenToId('<|end|>');
  return { bos: tok.bosTokenId ?? eos, eos, ...(tok.padTokenId !== undefined ? { pad: tok.padTokenId } : {}), stop: end !== undefined && end !== eos ? [eos, end] : [eos] };
}

export async function pretrain(
  cfg: PretrainConfig, hooks: PretrainHooks = {}, opts: { resume?: boolean; overwrite?: boolean } = {},
): Promise<PretrainResult> {
  // The --out rule of util/out-dir.ts, checked before any work: never over --tokenizer, --config or a corpus file.
  const inputs = [{ flag: '--tokenizer', path: cfg.tokenizer }, ...(cfg.configFile ? [{ flag: '--config', path: cfg.configFile }] : []),
    ...cfg.corpus.filter((c) => existsSync(c)).map((path) => ({ flag: '--corpus', path }))];
  const outRule = { verb: 'pretrain', overwrite: opts.overwrite, inputs };
  checkOutDir(cfg.out, outRule);
  const tok = await loadTokenizer(cfg.tokenizer);
  const ids = specialIds(cfg.tokenizer, tok);
  const raw = cfg.configFile
    ? JSON.parse(readFileSync(cfg.configFile, 'utf8')) as Record<string, unknown>
    : llamaConfigJson({ hidden: cfg.hidden, layers: cfg.layers, heads: cfg.heads, kvHeads: cfg.kvHeads, intermediate: cfg.intermediate, maxPositions: cfg.maxPositions }, tok.vocabSize, ids);
  const mc = pretrainConfig(raw, cfg.configFile ?? 'pretrain flags', tok.vocabSize);
  if (!mc.tieWordEmbeddings) throw new LorakitError('LK_CONFIG', 'pretraining expects tie_word_embeddings: true');
  if (cfg.seq > mc.maxPositionEmbeddings) throw new LorakitError('LK_ARG', `'--seq' ${cfg.seq} exceeds max_position_embeddings ${mc.maxPositionEmbeddings}`);

  const docs = readCorpus(cfg.corpus, { limit: cfg.docLimit });
  const data = buildPretrainData(docs, tok, ids.eos, cfg.seq);
  const evalRows = pickEvalRows(data.heldRows, cfg.evalRows);
  const { names, weights, shapes } = initWeights(mc, cfg.seed);
  const params = names.map((n) => weights.get(n)!);
  const parameters = params.reduce((a, p) => a + p.length, 0);
  const m = params.map((p) => new Float32Array(p.length)), v = params.map((p) => new Float32Array(p.length));
  const groups = [true, false].map((decay) => {
    const idx = names.map((n, i) => (decays(n, shapes.get(n)!) === decay ? i : -1)).filter((i) => i >= 0);
    const state: AdamWState = { step: 0, m: idx.map((i) => m[i]), v: idx.map((i) => v[i]) };
    return { idx, decay, state };
  });

  const runDir = resolve(cfg.runDir ?? `${cfg.out}.run`);
  const tokHash = sha256(readFileSync(join(cfg.tokenizer, 'tokenizer.json')));
  const configHash = sha256(stableStringify({ ...cfg, out: null, runDir: null, threads: null, evalEvery: null, saveEvery: null, commandLine: null, samplePrompt: null, raw }));
  let state: PretrainState = { step: 0, epoch: 0, batchInEpoch: 0, rng: new Rng(cfg.seed).state(), bestEvalLoss: null, evalsWithoutImprovement: 0, tokensSeen: 0, configHash, baseFingerprint: tokHash, trainSeconds: 0, recentLosses: [] };
  let resumedFrom: number | null = null;
  if (opts.resume) {
    const ck = loadLatestCheckpoint(runDir, names);
    if (ck) {
      if (ck.state.configHash !== configHash || ck.state.baseFingerprint !== tokHash) {
        throw new LorakitError('LK_CHECKPOINT', `cannot resume: the config or tokenizer differs from the one that wrote the checkpoint in '${runDir}'`, { hint: 'resume with the same flags (only --threads, --eval-every and --save-every may change)' });
      }
      names.forEach((n, i) => { params[i].set(ck.params.get(n)!); m[i].set(ck.m[i]); v[i].set(ck.v[i]); });
      state = ck.state as PretrainState;
      for (const gr of groups) gr.state.step = state.step;
      resumedFrom = state.step;
    }
  } else if (existsSync(join(runDir, 'checkpoints'))) {
    rmSync(join(runDir, 'checkpoints'), { recursive: true, force: true });
  }
  mkdirSync(runDir, { recursive: true });
  const metricsFile = join(runDir, 'metrics.jsonl');
  if (resumedFrom === null) rmSync(metricsFile, { force: true });
  else if (existsSync(metricsFile)) { // drop the steps after the checkpoint: they are about to run again
    const keep = readFileSync(metricsFile, 'utf8').split('\n').filter((l) => l.trim() && (JSON.parse(l) as { step: number }).step <= resumedFrom!);
    writeFileAtomic(metricsFile, keep.map((l) => l + '\n').join(''));
  }
  hooks.onStart?.({ parameters, trainTokens: data.trainTokens, trainRows: data.rows.length, heldTokens: data.heldStream.length, totalSteps: cfg.steps, resumedFromStep: resumedFrom, config: raw });

  // One graph: summed loss over the batch and d(loss)/d(weight) for every weight.
  const built = buildCausalLMGraph(mc, { mode: 'score', shapes, packed: false, name: 'llama_pretrain' });
  const g = built.graph;
  const syms = names.map((n) => g.inputs.find((s) => s.name === n) ?? (() => { throw new LorakitError('LK_INTERNAL', `pretrain: weight '${n}' is not a graph input`); })());
  grad(built.lossSum!, syms).forEach((d, i) => g.output(`grad.${names[i]}`, d));
  const session: CompiledGraph = await compile(g, { threads: cfg.threads });
  const grads = params.map((p) => new Float32Array(p.length));
  const into = Object.fromEntries(names.map((n, i) => [`grad.${n}`, grads[i]]));
  const lm = new CausalLM(mc, weights, shapes, { threads: cfg.threads });
  const evalLoss = async (): Promise<number | null> => {
    if (evalRows.length === 0) return null;
    let sum = 0, count = 0;
    for (let i = 0; i < evalRows.length; i += cfg.batch) {
      const r = await lm.scoreBatch(rowsBatch(evalRows.slice(i, i + cfg.batch)));
      sum += r.lossSum; count += r.tokenCount;
    }
    return sum / count;
  };

  const batchesPerEpoch = Math.floor(data.rows.length / cfg.batch);
  if (batchesPerEpoch === 0) throw new LorakitError('LK_DATA', `the corpus has ${data.rows.length} rows of ${cfg.seq} tokens, fewer than one batch of ${cfg.batch}`);
  let order = epochOrder(data.rows.length, cfg.seed, state.epoch);
  let lastLoss = NaN, lastEval: number | null = state.bestEvalLoss, tokensTimed = 0, msTimed = 0;
  while (state.step < cfg.steps) {
    const ts = performance.now();
    if (state.batchInEpoch >= batchesPerEpoch) {
      state = { ...state, epoch: state.epoch + 1, batchInEpoch: 0 };
      order = epochOrder(data.rows.length, cfg.seed, state.epoch);
    }
    const rows = order.slice(state.batchInEpoch * cfg.batch, (state.batchInEpoch + 1) * cfg.batch).map((i) => data.rows[i]);
    const batch = rowsBatch(rows);
    const dims = [batch.batch, batch.seq];
    const feeds = {
      ...lm.weightFeeds(built.weightInputs),
      input_ids: { data: batch.inputIds, dims }, attention_mask: { data: batch.attentionMask, dims },
      position_ids: { data: batch.positionIds, dims }, labels: { data: batch.labels, dims },
    };
    const r = await session.run(feeds, into);
    const lossSum = (r.loss_sum.data as Float32Array)[0], targets = (r.token_count.data as Float32Array)[0];
    // Mean over target tokens, then global-norm clipping folded into the gradient scale.
    let scale = 1 / targets;
    const norm = globalNorm(grads) * scale;
    if (cfg.maxGradNorm > 0 && norm > cfg.maxGradNorm) scale *= cfg.maxGradNorm / (norm + 1e-6);
    const lr = scheduledLr(state.step, { lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps, schedule: 'cosine', minRatio: cfg.minLrRatio });
    for (const gr of groups) {
      adamwStep(gr.idx.map((i) => params[i]), gr.idx.map((i) => grads[i]), gr.state,
        { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: 1e-8, weightDecay: gr.decay ? cfg.weightDecay : 0 }, lr, scale);
    }
    const tokens = cfg.batch * cfg.seq;
    lastLoss = lossSum / targets;
    if (!Number.isFinite(lastLoss)) throw new LorakitError('LK_TRAIN_CONFIG', `pretrain: loss is ${lastLoss} at step ${state.step + 1}`, { hint: 'lower --lr or raise --warmup-steps' });
    const ms = performance.now() - ts;
    tokensTimed += tokens; msTimed += ms;
    const tailN = Math.max(1, Math.min(50, Math.round(cfg.steps / 10)));
    state = { ...state, step: state.step + 1, batchInEpoch: state.batchInEpoch + 1, tokensSeen: state.tokensSeen + tokens, trainSeconds: state.trainSeconds + ms / 1000, recentLosses: [...state.recentLosses, lastLoss].slice(-tailN) };
    let metrics: PretrainStepMetrics = { step: state.step, loss: lastLoss, lr, grad_norm: norm, tokens_per_s: tokens / (ms / 1000), tokens, epoch: state.epoch };
    if ((cfg.evalEvery > 0 && state.step % cfg.evalEvery === 0) || state.step === cfg.steps) {
      const te = performance.now();
      lastEval = await evalLoss();
      state = { ...state, bestEvalLoss: lastEval, trainSeconds: state.trainSeconds + (performance.now() - te) / 1000 };
      if (lastEval !== null) metrics = { ...metrics, eval_loss: lastEval };
    }
    appendJsonl(metricsFile, metrics);
    hooks.onStep?.(metrics, cfg.steps);
    if (cfg.saveEvery > 0 && state.step % cfg.saveEvery === 0 && state.step < cfg.steps) {
      const dir = saveCheckpoint(runDir, names, names.map((n) => shapes.get(n)!), { state, params: weights, m, v });
      hooks.onCheckpoint?.(dir, state.step);
    }
  }

  hooks.onPhase?.(`writing ${cfg.out}`);
  writeModelFolder(cfg.out, { config: raw, names, weights, shapes, tokenizerDir: cfg.tokenizer, ids, maxNewTokens: 64 }, outRule);
  // Numbers in the card come from the folder as saved (BF16), not from the f32 weights in memory.
  hooks.onPhase?.('measuring held-out perplexity on the saved folder');
  const saved = await loadCheckpoint(cfg.out, { tokenizer: true });
  const slm = new CausalLM(saved.config, saved.weights, saved.shapes, { threads: cfg.threads });
  const heldIds = Array.from(data.heldStream);
  const ppl = heldIds.length > 1
    ? await perplexity(slm, heldIds, { window: cfg.seq, stride: cfg.pplStride ?? Math.max(1, cfg.seq / 2), batchSize: cfg.batch })
    : { perplexity: NaN, nll: NaN, scored: 0 };
  const prompt = saved.tokenizer!.encode(cfg.samplePrompt, { addSpecialTokens: false });
  const gen = await generate(slm, [prompt], { maxNewTokens: 24, eosTokenIds: ids.stop });
  const sample = { prompt: cfg.samplePrompt, text: saved.tokenizer!.decode(gen.tokens[0]) };
  const tail = state.recentLosses.length ? state.recentLosses.reduce((a, b) => a + b, 0) / state.recentLosses.length : NaN;
  const sizeBytes = (await import('node:fs')).statSync(join(cfg.out, 'model.safetensors')).size;
  const result: PretrainResult = {
    out: resolve(cfg.out), runDir, parameters, steps: state.step, trainLoss: lastLoss, trainLossTail: tail, evalLoss: lastEval,
    heldOutPerplexity: ppl.perplexity, heldOutTokens: ppl.scored, tokensPerSecond: msTimed > 0 ? tokensTimed / (msTimed / 1000) : 0,
    trainSeconds: state.trainSeconds, tokensSeen: state.tokensSeen, sample, sizeBytes,
  };
  writeFileAtomic(join(cfg.out, 'README.md'), modelCard({ cfg, config: raw, mc, result, data: { trainDocs: data.trainDocs, heldDocs: data.heldDocs, trainTokens: data.trainTokens, heldTokens: data.heldStream.length, vocab: tok.vocabSize } }));
  return result;
}

/** `n` held-out rows spread evenly over the held-out stream (deterministic). */
function pickEvalRows(rows: readonly Int32Array[], n: number): Int32Array[] {
  if (rows.length <= n) return [...rows];
  return Array.from({ length: n }, (_, i) => rows[Math.floor((i * rows.length) / n)]);
}
