// `lorakit train`: LoRA fine-tuning of a frozen base on the user's JSONL, ending in a PEFT adapter folder.
// AdamW on the adapter tensors only, warmup + cosine/linear decay, gradient accumulation, global-norm clipping,
// held-out evaluation, early stopping, and checkpoints from which --resume continues exactly (same final adapter).
// trainAdapter is the setup (lora-setup.ts: data, adapter, start point) around the shared loop (loop.ts), which runs
// the optimizer step of lora-step.ts.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import { type Adapter, trainableParameterCount } from '../lora/adapter.js';
import { type LoraConfig, parseLoraConfig } from '../lora/config.js';
import { writeAdapter } from '../lora/peft-io.js';
import { CausalLM } from '../models/causal-lm.js';
import { type Checkpoint, loadCheckpoint } from '../models/checkpoint.js';
import { fingerprintModelDir } from '../models/fingerprint.js';
import { defaultLoraTargets, fanInFanOut } from '../models/modules.js';
import { sha256, sha256File, stableStringify } from '../util/hash.js';
import { writeJsonAtomic } from '../util/atomic.js';
import { checkNotInput, checkOutDir, type OutDirOptions } from '../util/out-dir.js';
import { Rng } from '../util/rng.js';
import { saveCheckpoint, type TrainState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import type { LoadedData } from './data.js';
import { initAdapter, loadRunData, startPoint } from './lora-setup.js';
import { epochBatches, evaluateLoss, loraStep } from './lora-step.js';
import { type LoopHooks, runLoop } from './loop.js';
import { TrainStep } from './step.js';

export { evaluateLoss } from './lora-step.js';
export { splitSamples } from './lora-setup.js';
export type { StepMetrics } from './loop.js';

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

/** The loop's hooks (onStep: progress and tracking; onEval; onCheckpoint) and what the run found at its start. */
export interface TrainHooks extends LoopHooks {
  onStart?(info: TrainStartInfo): void;
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

export function loraConfigFromTrain(cfg: TrainConfig, base: Checkpoint): LoraConfig {
  return parseLoraConfig({
    r: cfg.rank, lora_alpha: cfg.alpha, lora_dropout: cfg.dropout,
    target_modules:
      cfg.targetModules.length === 1 && cfg.targetModules[0] === 'all-linear'
        ? 'all-linear'
        : cfg.targetModules.length
          ? cfg.targetModules
          : undefined,
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

/** The result of the finished run in `runDir` when --resume has nothing to do: same flags, base and data bytes. */
function completedRun(cfg: TrainConfig, runDir: string, configHash: string, baseFingerprint: string): TrainResult | null {
  const done = readComplete(runDir);
  const same = done && done.configHash === configHash && done.baseFingerprint === baseFingerprint && done.budget === budgetOf(cfg)
    && done.result.datasetFingerprint === fileHash(cfg.data);
  return done && same && existsSync(join(resolve(cfg.out), 'adapter_model.safetensors')) ? done.result : null;
}

/**
 * What a checkpoint must share with the run that resumes it. Memory-only settings (threads, checkpointing) may change
 * on resume, and so may the budget (max steps, epochs); checkpointing stays out of the hash entirely, so checkpoints
 * written before the option existed still resume.
 */
function trainConfigHash(cfg: TrainConfig): string {
  const { gradientCheckpointing: _memoryOnly, ...hashed } = cfg;
  return sha256(stableStringify({ ...hashed, out: null, runDir: null, threads: null, maxSteps: null, epochs: null }));
}

export async function trainAdapter(cfg: TrainConfig, hooks: TrainHooks = {}, opts: TrainOptions = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const outRule = trainOutRule(cfg, opts.overwrite);
  checkOutDir(cfg.out, outRule); // before minutes of training, not after
  const runDir = resolve(cfg.runDir ?? `${cfg.out}.run`);
  checkNotInput(runDir, { ...outRule, flag: '--run-dir' }); // its checkpoints/ and metrics.jsonl are replaced
  const configHash = trainConfigHash(cfg);
  const fp = (await fingerprintModelDir(cfg.model)).fingerprint;
  const done = opts.resume ? completedRun(cfg, runDir, configHash, fp) : null;
  if (done) return { ...done, resume: 'already-complete', resumedFromStep: done.steps, seconds: (performance.now() - t0) / 1000 };

  // Setup: base, data, adapter, and where to start.
  const quantize = { quantize: cfg.quantize, block: cfg.quantBlock, zeroPoint: cfg.quantZeroPoint, accuracy: cfg.quantAccuracy };
  const base = opts.base ?? await loadCheckpoint(cfg.model, { tokenizer: true, quantize });
  const tok = base.tokenizer;
  if (!tok) throw new LorakitError('LK_TOKENIZER', `'${cfg.model}' has no tokenizer.json; training needs one`);
  const data = await loadRunData(cfg, tok);
  const lora = loraConfigFromTrain(cfg, base);
  const ad = initAdapter(lora, base, cfg.seed);
  // No memory pattern for the evaluation sessions either (see CompileOptions.memPattern).
  const lmOpts = { threads: cfg.threads ?? undefined, quant: base.quant, memPattern: false };
  const lm = new CausalLM(base.config, base.weights, base.shapes, lmOpts);
  const padId = tok.padTokenId ?? tok.eosTokenIds[0] ?? 0;
  const stepsPerEpoch = Math.max(1, Math.ceil(epochBatches(data.train, cfg, 0).length / cfg.gradAccum));
  const totalSteps = cfg.maxSteps ?? cfg.epochs * stepsPerEpoch;
  const fresh: TrainState = {
    step: 0, epoch: 0, batchInEpoch: 0, rng: new Rng(cfg.seed).state(), bestEvalLoss: null, evalsWithoutImprovement: 0, tokensSeen: 0,
    configHash, baseFingerprint: fp,
  };
  const start = startPoint(cfg, runDir, ad, fresh, opts.resume === true);
  rmSync(join(runDir, 'complete.json'), { force: true }); // this run is not complete until it writes the adapter
  const trainable = trainableParameterCount(ad.adapter), total = base.parameters;
  hooks.onStart?.({
    trainable, total, modules: ad.adapter.sites.map((s) => s.spec.path), trainSamples: data.train.length, evalSamples: data.held.length,
    invalid: data.invalid, truncated: data.truncated, totalSteps, resumedFromStep: start.resumedFrom, resume: start.resume, runDir,
    baseFingerprint: fp, datasetFingerprint: data.fingerprint, lora,
  });

  // The loop.
  const stepOpts = { packed: cfg.packing, threads: cfg.threads ?? undefined, checkpointing: cfg.gradientCheckpointing, qloraMode: cfg.qloraMode };
  const step = await TrainStep.create(lm, ad.trainBinding, ad.names, stepOpts);
  const evalBatch = Math.max(1, cfg.batchSize);
  const dims = ad.names.map((n) => ad.adapter.tensors.get(n)!.dims), params = new Map(ad.names.map((n, i) => [n, ad.params[i]]));
  const loop = await runLoop({
    state: start.state, totalSteps, metricsFile: join(runDir, 'metrics.jsonl'),
    step: loraStep({ cfg, train: data.train, step, binding: ad.trainBinding, params: ad.params, adam: ad.adam, padId, totalSteps }),
    evaluate: data.held.length > 0 ? () => evaluateLoss(lm, data.held, ad.evalBinding, evalBatch, padId) : undefined,
    evalEvery: cfg.evalEvery, evalAtStart: true, saveEvery: cfg.saveEvery, patience: cfg.earlyStoppingPatience,
    save: (state) => saveCheckpoint(runDir, ad.names, dims, { state, params, m: ad.adam.m, v: ad.adam.v }),
  }, hooks);

  const { state, lastLoss, lastEval, baseEval: baseEvalLoss, stoppedEarly } = loop;
  const result: TrainResult = {
    adapterDir: resolve(cfg.out), runDir, steps: state.step, trainLoss: lastLoss, evalLoss: lastEval, baseEvalLoss, trainable, total,
    tokensPerSecond: loop.tokensPerSecond, stoppedEarly, invalid: data.invalidCount, baseFingerprint: fp, datasetFingerprint: data.fingerprint,
    seconds: (performance.now() - t0) / 1000, adapter: ad.adapter, resume: start.resume, resumedFromStep: start.resumedFrom,
  };
  writeAdapter(cfg.out, { config: lora, tensors: ad.adapter.tensors }, {
    base_fingerprint: fp, base_model: resolve(cfg.model), base_quantization: base.quantization, dataset_fingerprint: data.fingerprint,
    config: { ...cfg } as unknown as Record<string, unknown>, metrics: adapterMetrics(result),
  }, undefined, outRule);
  const { adapter: _inMemory, ...recorded } = result; // the tensors live in the adapter folder, not in this record
  const complete: CompleteRecord = { configHash, baseFingerprint: fp, budget: budgetOf(cfg), result: recorded };
  if (state.step >= totalSteps || stoppedEarly) writeJsonAtomic(join(runDir, 'complete.json'), complete);
  return result;
}

/** The metrics block of the adapter's lorakit metadata. */
function adapterMetrics(r: TrainResult): Record<string, number> {
  const m: Record<string, number> = { train_loss: r.trainLoss };
  if (r.evalLoss !== null) m.eval_loss = r.evalLoss;
  if (r.baseEvalLoss !== null) m.base_eval_loss = r.baseEvalLoss;
  m.steps = r.steps;
  return m;
}
