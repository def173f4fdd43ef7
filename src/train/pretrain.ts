// `lorakit pretrain`: full-parameter training of a fresh Llama-architecture model on a text corpus with the same
// engine and the same loop (loop.ts) as LoRA training; the step, one compiled graph for the loss and the gradient of
// every weight plus AdamW, is pretrain-step.ts. Checkpoints (weights, moments, data position, RNG) let a killed run
// continue with --resume. The end product is an HF folder in BF16 with a model card whose held-out perplexity is
// measured on the saved folder.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { CausalLM } from '../models/causal-lm.js';
import { loadCheckpoint } from '../models/checkpoint.js';
import type { ModelConfig } from '../models/config.js';
import { generate } from '../models/generate.js';
import { perplexity } from '../models/perplexity.js';
import { loadTokenizer, type Tokenizer } from '../models/tokenizer.js';
import { sha256, stableStringify } from '../util/hash.js';
import { checkOutDir } from '../util/out-dir.js';
import { Rng } from '../util/rng.js';
import { writeFileAtomic } from '../util/atomic.js';
import { openRunDir, restoreTensors, saveCheckpoint } from './checkpoint.js';
import { type LoopHooks, runLoop, type StepMetrics } from './loop.js';
import { modelCard } from './pretrain-card.js';
import { buildPretrainData, readCorpus, rowsBatch } from './pretrain-data.js';
import { initWeights, llamaConfigJson, type ModelSize, pretrainConfig, type SpecialIds, writeModelFolder } from './pretrain-model.js';
import { type PretrainParams, type PretrainState, pretrainParams, pretrainStep } from './pretrain-step.js';

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

/** A metrics.jsonl row of pretraining: the same row as LoRA training's. */
export type PretrainStepMetrics = StepMetrics;

export interface PretrainStartInfo {
  readonly parameters: number;
  readonly trainTokens: number;
  readonly trainRows: number;
  readonly heldTokens: number;
  readonly totalSteps: number;
  readonly resumedFromStep: number | null;
  readonly config: Record<string, unknown>;
}

/** The loop's hooks (onStep, onEval, onCheckpoint), the start, and phase messages after training. */
export interface PretrainHooks extends LoopHooks {
  onStart?(i: PretrainStartInfo): void;
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

function specialIds(tokDir: string, tok: Awaited<ReturnType<typeof loadTokenizer>>): SpecialIds {
  const eos = tok.eosTokenIds[0];
  if (eos === undefined) {
    throw new LorakitError('LK_TOKENIZER', `'${tokDir}' names no eos_token; pretraining joins documents with it`, {
      hint: 'set eos_token in tokenizer_config.json',
    });
  }
  const end = tok.tokenToId('<|end|>');
  return {
    bos: tok.bosTokenId ?? eos,
    eos,
    ...(tok.padTokenId !== undefined ? { pad: tok.padTokenId } : {}),
    stop: end !== undefined && end !== eos ? [eos, end] : [eos],
  };
}

export async function pretrain(
  cfg: PretrainConfig, hooks: PretrainHooks = {}, opts: { resume?: boolean; overwrite?: boolean } = {},
): Promise<PretrainResult> {
  // The --out rule of util/out-dir.ts, checked before any work: never over --tokenizer, --config or a corpus file.
  const inputs = [{ flag: '--tokenizer', path: cfg.tokenizer }, ...(cfg.configFile ? [{ flag: '--config', path: cfg.configFile }] : []),
    ...cfg.corpus.filter((c) => existsSync(c)).map((path) => ({ flag: '--corpus', path }))];
  const outRule = { verb: 'pretrain', overwrite: opts.overwrite, inputs };
  checkOutDir(cfg.out, outRule);
  const { tok, ids, raw, mc } = await modelConfig(cfg);
  const data = buildPretrainData(readCorpus(cfg.corpus, { limit: cfg.docLimit }), tok, ids.eos, cfg.seq);
  const evalRows = pickEvalRows(data.heldRows, cfg.evalRows);
  const { names, weights, shapes } = initWeights(mc, cfg.seed);
  const p = pretrainParams(names, weights, shapes);
  const parameters = p.params.reduce((a, x) => a + x.length, 0);
  const runDir = resolve(cfg.runDir ?? `${cfg.out}.run`);
  const start = startPoint(cfg, runDir, p, raw, opts.resume === true);
  hooks.onStart?.({
    parameters, trainTokens: data.trainTokens, trainRows: data.rows.length, heldTokens: data.heldStream.length, totalSteps: cfg.steps,
    resumedFromStep: start.step > 0 ? start.step : null, config: raw,
  });

  const lm = new CausalLM(mc, weights, shapes, { threads: cfg.threads });
  const evaluate = async (): Promise<number> => {
    let sum = 0, count = 0;
    for (let i = 0; i < evalRows.length; i += cfg.batch) {
      const r = await lm.scoreBatch(rowsBatch(evalRows.slice(i, i + cfg.batch)));
      sum += r.lossSum; count += r.tokenCount;
    }
    return sum / count;
  };
  const loop = await runLoop<PretrainState>({
    state: start, totalSteps: cfg.steps, metricsFile: join(runDir, 'metrics.jsonl'),
    step: await pretrainStep({ cfg, mc, lm, p, rows: data.rows }),
    evaluate: evalRows.length > 0 ? evaluate : undefined, evalEvery: cfg.evalEvery, patience: 0, saveEvery: cfg.saveEvery,
    save: (state) => saveCheckpoint(runDir, names, names.map((n) => shapes.get(n)!), { state, params: weights, m: p.m, v: p.v }),
    spent: (state, seconds) => ({ ...state, trainSeconds: state.trainSeconds + seconds }),
  }, hooks);

  hooks.onPhase?.(`writing ${cfg.out}`);
  writeModelFolder(cfg.out, { config: raw, names, weights, shapes, tokenizerDir: cfg.tokenizer, ids, maxNewTokens: 64 }, outRule);
  const { state } = loop;
  const measured = await measureSaved(cfg, data.heldStream, ids.stop, hooks);
  const tail = state.recentLosses.length ? state.recentLosses.reduce((a, b) => a + b, 0) / state.recentLosses.length : NaN;
  const result: PretrainResult = {
    out: resolve(cfg.out), runDir, parameters, steps: state.step, trainLoss: loop.lastLoss, trainLossTail: tail, evalLoss: loop.lastEval,
    heldOutPerplexity: measured.ppl.perplexity, heldOutTokens: measured.ppl.scored, tokensPerSecond: loop.tokensPerSecond,
    trainSeconds: state.trainSeconds, tokensSeen: state.tokensSeen, sample: measured.sample,
    sizeBytes: statSync(join(cfg.out, 'model.safetensors')).size,
  };
  const cardData = {
    trainDocs: data.trainDocs, heldDocs: data.heldDocs, trainTokens: data.trainTokens, heldTokens: data.heldStream.length, vocab: tok.vocabSize,
  };
  writeFileAtomic(join(cfg.out, 'README.md'), modelCard({ cfg, config: raw, mc, result, data: cardData }));
  return result;
}

/** The tokenizer, its special ids, and the model config (from --config or the size flags), checked for pretraining. */
async function modelConfig(cfg: PretrainConfig): Promise<{ tok: Tokenizer; ids: SpecialIds; raw: Record<string, unknown>; mc: ModelConfig }> {
  const tok = await loadTokenizer(cfg.tokenizer);
  const ids = specialIds(cfg.tokenizer, tok);
  const { hidden, layers, heads, kvHeads, intermediate, maxPositions } = cfg;
  const raw = cfg.configFile
    ? JSON.parse(readFileSync(cfg.configFile, 'utf8')) as Record<string, unknown>
    : llamaConfigJson({ hidden, layers, heads, kvHeads, intermediate, maxPositions }, tok.vocabSize, ids);
  const mc = pretrainConfig(raw, cfg.configFile ?? 'pretrain flags', tok.vocabSize);
  if (!mc.tieWordEmbeddings) throw new LorakitError('LK_CONFIG', 'pretraining expects tie_word_embeddings: true');
  if (cfg.seq > mc.maxPositionEmbeddings) {
    throw new LorakitError('LK_ARG', `'--seq' ${cfg.seq} exceeds max_position_embeddings ${mc.maxPositionEmbeddings}`);
  }
  return { tok, ids, raw, mc };
}

/**
 * Where the run starts: step 0, or with --resume the newest checkpoint (weights and moments restored), which must
 * come from the same config and tokenizer.
 */
function startPoint(cfg: PretrainConfig, runDir: string, p: PretrainParams, raw: Record<string, unknown>, resume: boolean): PretrainState {
  const tokHash = sha256(readFileSync(join(cfg.tokenizer, 'tokenizer.json')));
  const hashed = { ...cfg, out: null, runDir: null, threads: null, evalEvery: null, saveEvery: null, commandLine: null, samplePrompt: null, raw };
  const configHash = sha256(stableStringify(hashed));
  const ck = openRunDir(runDir, p.names, resume);
  if (!ck) {
    return {
      step: 0, epoch: 0, batchInEpoch: 0, rng: new Rng(cfg.seed).state(), bestEvalLoss: null, evalsWithoutImprovement: 0, tokensSeen: 0,
      configHash, baseFingerprint: tokHash, trainSeconds: 0, recentLosses: [],
    };
  }
  if (ck.state.configHash !== configHash || ck.state.baseFingerprint !== tokHash) {
    throw new LorakitError('LK_CHECKPOINT', `cannot resume: the config or tokenizer differs from the one that wrote the checkpoint in '${runDir}'`, {
      hint: 'resume with the same flags (only --threads, --eval-every and --save-every may change)',
    });
  }
  restoreTensors(ck, p.names, p.params, p.m, p.v);
  for (const gr of p.groups) gr.state.step = ck.state.step;
  return ck.state as PretrainState;
}

/** Held-out perplexity and a greedy sample, measured on the folder as saved (BF16), not on the f32 weights in memory. */
async function measureSaved(
  cfg: PretrainConfig, heldStream: Int32Array, stop: readonly number[], hooks: PretrainHooks,
): Promise<{ ppl: { perplexity: number; scored: number }; sample: PretrainResult['sample'] }> {
  hooks.onPhase?.('measuring held-out perplexity on the saved folder');
  const saved = await loadCheckpoint(cfg.out, { tokenizer: true });
  const slm = new CausalLM(saved.config, saved.weights, saved.shapes, { threads: cfg.threads });
  const heldIds = Array.from(heldStream);
  const ppl = heldIds.length > 1
    ? await perplexity(slm, heldIds, { window: cfg.seq, stride: cfg.pplStride ?? Math.max(1, cfg.seq / 2), batchSize: cfg.batch })
    : { perplexity: NaN, nll: NaN, scored: 0 };
  const prompt = saved.tokenizer!.encode(cfg.samplePrompt, { addSpecialTokens: false });
  const gen = await generate(slm, [prompt], { maxNewTokens: 24, eosTokenIds: stop });
  return { ppl, sample: { prompt: cfg.samplePrompt, text: saved.tokenizer!.decode(gen.tokens[0]) } };
}

/** `n` held-out rows spread evenly over the held-out stream (deterministic). */
function pickEvalRows(rows: readonly Int32Array[], n: number): Int32Array[] {
  if (rows.length <= n) return [...rows];
  return Array.from({ length: n }, (_, i) => rows[Math.floor((i * rows.length) / n)]);
}
