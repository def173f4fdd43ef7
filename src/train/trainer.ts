// `lorakit train`: LoRA fine-tuning of a frozen base on the user's JSONL, ending in a PEFT adapter folder.
// AdamW on the adapter tensors only, warmup + cosine/linear decay, gradient accumulation, global-norm clipping,
// held-out evaluation, early stopping, and checkpoints from which --resume continues exactly (same final adapter).
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { type Adapter, bindAdapter, trainableParameterCount } from '../lora/adapter.js';
import { type LoraConfig, parseLoraConfig } from '../lora/config.js';
import { initLoraTensors } from '../lora/init.js';
import { writeAdapter } from '../lora/peft-io.js';
import { type LoraSite, resolveSites } from '../lora/targets.js';
import { CausalLM, type LinearAdapter } from '../models/causal-lm.js';
import { type Checkpoint, loadCheckpoint } from '../models/checkpoint.js';
import { fingerprintModelDir } from '../models/fingerprint.js';
import { defaultLoraTargets, fanInFanOut, linearModules } from '../models/modules.js';
import { sha256, sha256File, stableStringify } from '../util/hash.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { appendJsonl } from '../util/jsonl.js';
import { checkNotInput, checkOutDir, type OutDirOptions } from '../util/out-dir.js';
import { Rng } from '../util/rng.js';
import { adamwStep, createAdamWState, globalNorm, scheduledLr } from './adamw.js';
import { type Sequence, makeTrainBatch, toSequences } from './batches.js';
import { loadLatestCheckpoint, saveCheckpoint, type TrainState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { type LoadedData, type Sample, checkInvalid, loadTrainingData, packSamples } from './data.js';
import { TrainStep } from './step.js';

export interface TrainStartInfo {
  readonly trainable: number;
  readonly total: number;
  readonly modules: readonly string[];
  readonly trainSamples: number;
  readonly evalSamples: number;
  readonly invalid: LoadedData['invalid'];
  readonly truncated: number;
  readonly totalSteps: number;
  readonly resumedFromStep: number | null;
  /** What --resume found: off (not asked), resumed (from a checkpoint) or no-checkpoint (starting at step 0). */
  readonly resume: ResumeStatus;
  readonly runDir: string;
  readonly baseFingerprint: string;
  readonly datasetFingerprint: string;
  readonly lora: LoraConfig;
}

/** already-complete: --resume on a run whose every step is done; nothing was trained and the adapter was left alone. */
export type ResumeStatus = 'off' | 'resumed' | 'no-checkpoint' | 'already-complete';

export interface StepMetrics { readonly step: number; readonly loss: number; readonly lr: number; readonly grad_norm: number; readonly tokens_per_s: number; readonly tokens: number; readonly epoch: number; readonly eval_loss?: number }

export interface TrainHooks {
  onStart?(info: TrainStartInfo): void;
  onStep?(m: StepMetrics, totalSteps: number): void;
  onEval?(step: number, evalLoss: number): void;
  onCheckpoint?(dir: string, step: number): void;
}

export interface TrainResult {
  readonly adapterDir: string;
  readonly runDir: string;
  readonly steps: number;
  readonly trainLoss: number;
  readonly evalLoss: number | null;
  readonly baseEvalLoss: number | null;
  readonly trainable: number;
  readonly total: number;
  readonly tokensPerSecond: number;
  readonly stoppedEarly: boolean;
  readonly invalid: number;
  readonly baseFingerprint: string;
  readonly datasetFingerprint: string;
  readonly seconds: number;
  /** The trained adapter as this process holds it (the tensors the optimizer updated, not re-read from disk): the
   *  "train" parity path of an evaluation run right after training uses it. Not part of the JSON result;
   *  absent when --resume found the run already complete. */
  readonly adapter?: Adapter;
  readonly resume: ResumeStatus;
  readonly resumedFromStep: number | null;
}

/** Written to <runDir>/complete.json when a run ends, so --resume can tell a finished run from one cut short. */
interface CompleteRecord { readonly configHash: string; readonly baseFingerprint: string; readonly budget: string; readonly result: TrainResult }
const budgetOf = (cfg: TrainConfig): string => stableStringify({ maxSteps: cfg.maxSteps, epochs: cfg.epochs });

const fileHash = (f: string): string | null => {
  try { return sha256File(f); } catch { return null; }
};

function readComplete(runDir: string): CompleteRecord | null {
  try {
    return JSON.parse(readFileSync(join(runDir, 'complete.json'), 'utf8')) as CompleteRecord;
  } catch {
    return null;
  }
}

export function formatCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}K` : String(n);
}

/** Deterministic held-out split: a seeded permutation, the last `fraction` held out (at least one when possible). */
export function splitSamples(samples: readonly Sample[], fraction: number, seed: number): { train: Sample[]; held: Sample[] } {
  const idx = new Rng(seed ^ 0x5eed).shuffle(samples.map((_, i) => i));
  const n = fraction > 0 && samples.length > 1 ? Math.max(1, Math.round(samples.length * fraction)) : 0;
  const held = new Set(idx.slice(idx.length - n));
  return { train: samples.filter((_, i) => !held.has(i)), held: samples.filter((_, i) => held.has(i)) };
}

/** Mean next-token loss of `samples` under the model (+ adapter), in batches. */
export async function evaluateLoss(lm: CausalLM, samples: readonly Sample[], adapter: LinearAdapter | undefined, batchSize: number, padId: number): Promise<number> {
  let sum = 0, count = 0;
  for (let i = 0; i < samples.length; i += batchSize) {
    const batch = makeTrainBatch(toSequences(samples.slice(i, i + batchSize)), padId, false);
    const r = await lm.scoreBatch(batch, { adapter });
    sum += r.lossSum;
    count += r.tokenCount;
  }
  return count > 0 ? sum / count : NaN;
}

function epochBatches(train: readonly Sample[], cfg: TrainConfig, epoch: number): Sequence[][] {
  const order = new Rng(cfg.seed * 1000003 + epoch).shuffle(train.map((_, i) => i)).map((i) => train[i]);
  const seqs: Sequence[] = cfg.packing ? packSamples(order, cfg.maxLength) : toSequences(order);
  const out: Sequence[][] = [];
  for (let i = 0; i < seqs.length; i += cfg.batchSize) out.push(seqs.slice(i, i + cfg.batchSize));
  return out;
}

export function loraConfigFromTrain(cfg: TrainConfig, base: Checkpoint): LoraConfig {
  return parseLoraConfig({
    r: cfg.rank, lora_alpha: cfg.alpha, lora_dropout: cfg.dropout,
    target_modules: cfg.targetModules.length === 1 && cfg.targetModules[0] === 'all-linear' ? 'all-linear' : cfg.targetModules.length ? cfg.targetModules : undefined,
    use_rslora: cfg.rslora, layers_to_transform: cfg.layersToTransform, rank_pattern: cfg.rankPattern, alpha_pattern: cfg.alphaPattern,
    init_lora_weights: cfg.init === 'gaussian' ? 'gaussian' : true, fan_in_fan_out: fanInFanOut(base.config),
    base_model_name_or_path: resolve(cfg.model),
  }, 'training flags', defaultLoraTargets(base.config));
}

/** The --out rule for train (util/out-dir.ts): never --model, --data or --eval-data; a user folder only with overwrite. */
export function trainOutRule(cfg: TrainConfig, overwrite = false): OutDirOptions {
  const inputs = [{ flag: '--model', path: cfg.model }, { flag: '--data', path: cfg.data }];
  if (cfg.evalData) inputs.push({ flag: '--eval-data', path: cfg.evalData });
  return { verb: 'train', overwrite, inputs };
}

export interface TrainOptions { readonly resume?: boolean; readonly base?: Checkpoint; readonly overwrite?: boolean }

export async function trainAdapter(cfg: TrainConfig, hooks: TrainHooks = {}, opts: TrainOptions = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const outRule = trainOutRule(cfg, opts.overwrite);
  checkOutDir(cfg.out, outRule); // before minutes of training, not after
  const runDir = resolve(cfg.runDir ?? `${cfg.out}.run`);
  checkNotInput(runDir, { ...outRule, flag: '--run-dir' }); // its checkpoints/ and metrics.jsonl are replaced
  // Memory-only settings (threads, checkpointing) may change on resume; checkpointing stays out of the hash entirely,
  // so checkpoints written before the option existed still resume.
  const { gradientCheckpointing: _memoryOnly, ...hashed } = cfg;
  const configHash = sha256(stableStringify({ ...hashed, out: null, runDir: null, threads: null, maxSteps: null, epochs: null }));
  const fp = (await fingerprintModelDir(cfg.model)).fingerprint;
  const done = opts.resume ? readComplete(runDir) : null;
  const same = done && done.configHash === configHash && done.baseFingerprint === fp && done.budget === budgetOf(cfg)
    && done.result.datasetFingerprint === fileHash(cfg.data); // same flags, base and data bytes
  if (done && same && existsSync(join(resolve(cfg.out), 'adapter_model.safetensors'))) {
    return { ...done.result, resume: 'already-complete', resumedFromStep: done.result.steps, seconds: (performance.now() - t0) / 1000 };
  }
  const quantize = { quantize: cfg.quantize, block: cfg.quantBlock, zeroPoint: cfg.quantZeroPoint, accuracy: cfg.quantAccuracy };
  const base = opts.base ?? await loadCheckpoint(cfg.model, { tokenizer: true, quantize });
  const tok = base.tokenizer;
  if (!tok) throw new LorakitError('LK_TOKENIZER', `'${cfg.model}' has no tokenizer.json; training needs one`);
  const dataOpts = { maxLength: cfg.maxLength, trainOnInputs: cfg.trainOnInputs, truncate: cfg.truncate };
  const data = await loadTrainingData(cfg.data, tok, dataOpts);
  checkInvalid(cfg.data, data, cfg.skipInvalid);
  let train: Sample[], held: Sample[];
  let invalid = data.invalid.length;
  if (cfg.evalData) {
    const ev = await loadTrainingData(cfg.evalData, tok, dataOpts);
    checkInvalid(cfg.evalData, ev, cfg.skipInvalid);
    invalid += ev.invalid.length;
    train = data.samples;
    held = ev.samples;
  } else ({ train, held } = splitSamples(data.samples, cfg.evalFraction, cfg.seed));
  if (train.length === 0) throw new LorakitError('LK_DATA', `no training samples left after holding out ${held.length} for evaluation`);

  const lora = loraConfigFromTrain(cfg, base);
  const sites: LoraSite[] = resolveSites(lora, linearModules(base.config));
  const tensors = initLoraTensors(sites, lora.init_lora_weights, cfg.seed);
  const names = [...tensors.keys()].sort();
  const params = names.map((n) => tensors.get(n)!.data);
  const adam = createAdamWState(params);
  const adapter = bindAdapter({ config: lora, sites, tensors }); // evaluation: no dropout
  const trainBinding = bindAdapter({ config: lora, sites, tensors }, { training: true });
  // No memory pattern for the evaluation sessions either (see CompileOptions.memPattern).
  const lm = new CausalLM(base.config, base.weights, base.shapes, { threads: cfg.threads ?? undefined, quant: base.quant, memPattern: false });
  const padId = tok.padTokenId ?? tok.eosTokenIds[0] ?? 0;

  const batchesPerEpoch = epochBatches(train, cfg, 0).length;
  const stepsPerEpoch = Math.max(1, Math.ceil(batchesPerEpoch / cfg.gradAccum));
  const totalSteps = cfg.maxSteps ?? cfg.epochs * stepsPerEpoch;
  let state: TrainState = { step: 0, epoch: 0, batchInEpoch: 0, rng: new Rng(cfg.seed).state(), bestEvalLoss: null, evalsWithoutImprovement: 0, tokensSeen: 0, configHash, baseFingerprint: fp };
  let resumedFrom: number | null = null;
  let resume: ResumeStatus = opts.resume ? 'no-checkpoint' : 'off';
  if (opts.resume) {
    const ck = loadLatestCheckpoint(runDir, names);
    if (ck) {
      if (ck.state.baseFingerprint !== fp) throw new LorakitError('LK_BASE_MISMATCH', `cannot resume: the checkpoint in '${runDir}' was trained on base ${ck.state.baseFingerprint.slice(0, 12)}, but '${cfg.model}' is ${fp.slice(0, 12)}`);
      if (ck.state.configHash !== configHash) throw new LorakitError('LK_CHECKPOINT', `cannot resume: the training config differs from the one that wrote the checkpoint in '${runDir}'`, { hint: 'resume with the same flags (only --max-steps, --epochs, --threads and --gradient-checkpointing may change)' });
      names.forEach((n, i) => { params[i].set(ck.params.get(n)!); adam.m[i].set(ck.m[i]); adam.v[i].set(ck.v[i]); });
      adam.step = ck.state.step;
      state = ck.state;
      resumedFrom = state.step;
      resume = 'resumed';
    }
  } else if (existsSync(join(runDir, 'checkpoints'))) {
    rmSync(join(runDir, 'checkpoints'), { recursive: true, force: true }); // a fresh run does not resume stale state
  }
  mkdirSync(runDir, { recursive: true });
  rmSync(join(runDir, 'complete.json'), { force: true }); // this run is not complete until it writes the adapter
  const metricsFile = join(runDir, 'metrics.jsonl');
  if (!resumedFrom) rmSync(metricsFile, { force: true });

  const trainable = trainableParameterCount({ tensors }), total = base.parameters;
  hooks.onStart?.({
    trainable, total, modules: sites.map((s) => s.spec.path), trainSamples: train.length, evalSamples: held.length, invalid: data.invalid,
    truncated: data.truncated, totalSteps, resumedFromStep: resumedFrom, resume, runDir, baseFingerprint: fp, datasetFingerprint: data.fingerprint, lora,
  });

  const stepOpts = { packed: cfg.packing, threads: cfg.threads ?? undefined, checkpointing: cfg.gradientCheckpointing, qloraMode: cfg.qloraMode };
  const step = await TrainStep.create(lm, trainBinding, names, stepOpts);
  const grads = params.map((p) => new Float32Array(p.length));
  const acc = params.map((p) => new Float32Array(p.length));
  const evalBatch = Math.max(1, cfg.batchSize);
  const baseEvalLoss = held.length && !resumedFrom ? await evaluateLoss(lm, held, adapter, evalBatch, padId) : null;
  if (baseEvalLoss !== null) appendJsonl(metricsFile, { step: 0, eval_loss: baseEvalLoss });
  let lastLoss = NaN, lastEval: number | null = state.bestEvalLoss, stoppedEarly = false;
  let batches = epochBatches(train, cfg, state.epoch);
  let tokensTimed = 0, msTimed = 0;

  while (state.step < totalSteps) {
    const ts = performance.now();
    for (const a of acc) a.fill(0);
    let lossSum = 0, targets = 0, tokens = 0;
    for (let micro = 0; micro < cfg.gradAccum; micro++) {
      if (state.batchInEpoch >= batches.length) {
        state = { ...state, epoch: state.epoch + 1, batchInEpoch: 0 };
        batches = epochBatches(train, cfg, state.epoch);
      }
      const batch = makeTrainBatch(batches[state.batchInEpoch], padId, cfg.packing);
      state = { ...state, batchInEpoch: state.batchInEpoch + 1 };
      // Dropout masks depend only on (seed, step, micro-batch), so a resumed run draws the same ones.
      const r = await step.run(batch, trainBinding, grads, cfg.seed * 1_000_003 + state.step * 64 + micro);
      lossSum += r.lossSum;
      targets += r.tokens;
      for (const s of batches[state.batchInEpoch - 1]) tokens += s.ids.length;
      for (let i = 0; i < acc.length; i++) { const a = acc[i], g = grads[i]; for (let j = 0; j < a.length; j++) a[j] += g[j]; }
    }
    // Mean over target tokens of the whole accumulated step, then global-norm clipping.
    let scale = targets > 0 ? 1 / targets : 0;
    const norm = globalNorm(acc) * scale;
    if (cfg.maxGradNorm > 0 && norm > cfg.maxGradNorm) scale *= cfg.maxGradNorm / (norm + 1e-6);
    const lr = scheduledLr(state.step, { lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps, schedule: cfg.schedule });
    adamwStep(params, acc, adam, { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: 1e-8, weightDecay: cfg.weightDecay }, lr, scale);
    const ms = performance.now() - ts;
    tokensTimed += tokens; msTimed += ms;
    state = { ...state, step: state.step + 1, tokensSeen: state.tokensSeen + tokens };
    lastLoss = targets > 0 ? lossSum / targets : NaN;
    const m: StepMetrics = { step: state.step, loss: lastLoss, lr, grad_norm: norm, tokens_per_s: tokens / (ms / 1000), tokens, epoch: state.epoch };
    let evalLoss: number | undefined;
    const evalNow = held.length > 0 && ((cfg.evalEvery > 0 && state.step % cfg.evalEvery === 0) || state.step === totalSteps);
    if (evalNow) {
      evalLoss = await evaluateLoss(lm, held, adapter, evalBatch, padId);
      lastEval = evalLoss;
      const improved = state.bestEvalLoss === null || evalLoss < state.bestEvalLoss - 1e-6;
      state = { ...state, bestEvalLoss: improved ? evalLoss : state.bestEvalLoss, evalsWithoutImprovement: improved ? 0 : state.evalsWithoutImprovement + 1 };
      hooks.onEval?.(state.step, evalLoss);
    }
    appendJsonl(metricsFile, evalLoss === undefined ? m : { ...m, eval_loss: evalLoss });
    hooks.onStep?.(evalLoss === undefined ? m : { ...m, eval_loss: evalLoss }, totalSteps);
    if (cfg.saveEvery > 0 && state.step % cfg.saveEvery === 0 && state.step < totalSteps) {
      const dir = saveCheckpoint(runDir, names, names.map((n) => tensors.get(n)!.dims), { state, params: new Map(names.map((n, i) => [n, params[i]])), m: adam.m, v: adam.v });
      hooks.onCheckpoint?.(dir, state.step);
    }
    if (cfg.earlyStoppingPatience > 0 && state.evalsWithoutImprovement >= cfg.earlyStoppingPatience) { stoppedEarly = true; break; }
  }

  const result: TrainResult = {
    adapterDir: resolve(cfg.out), runDir, steps: state.step, trainLoss: lastLoss, evalLoss: lastEval, baseEvalLoss, trainable, total,
    tokensPerSecond: msTimed > 0 ? tokensTimed / (msTimed / 1000) : 0, stoppedEarly, invalid, baseFingerprint: fp, datasetFingerprint: data.fingerprint,
    seconds: (performance.now() - t0) / 1000, adapter: { config: lora, sites, tensors }, resume, resumedFromStep: resumedFrom,
  };
  writeAdapter(cfg.out, { config: lora, tensors }, {
    base_fingerprint: fp, base_model: resolve(cfg.model), base_quantization: base.quantization, dataset_fingerprint: data.fingerprint,
    config: { ...cfg } as unknown as Record<string, unknown>,
    metrics: { train_loss: lastLoss, ...(lastEval !== null ? { eval_loss: lastEval } : {}), ...(baseEvalLoss !== null ? { base_eval_loss: baseEvalLoss } : {}), steps: state.step },
  }, undefined, outRule);
  const { adapter: _inMemory, ...recorded } = result; // the tensors live in the adapter folder, not in this record
  const complete: CompleteRecord = { configHash, baseFingerprint: fp, budget: budgetOf(cfg), result: recorded };
  if (state.step >= totalSteps || stoppedEarly) writeJsonAtomic(join(runDir, 'complete.json'), complete);
  return result;
}
