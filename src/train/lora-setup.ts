// Setting up a LoRA training run for trainer.ts: the training and held-out samples, the adapter tensors with their
// AdamW state, and the point to start from (step 0, or a checkpoint on --resume). The optimizer step that trains them
// is lora-step.ts; the loop around it, loop.ts.
import { LorakitError } from '../errors.js';
import { type Adapter, bindAdapter } from '../lora/adapter.js';
import type { LoraConfig } from '../lora/config.js';
import { initLoraTensors } from '../lora/init.js';
import { resolveSites } from '../lora/targets.js';
import type { LinearAdapter } from '../models/causal-lm.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { linearModules } from '../models/modules.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { Rng } from '../util/rng.js';
import { type AdamWState, createAdamWState } from './adamw.js';
import { openRunDir, restoreTensors, type TrainState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { type LoadedData, type Sample, checkInvalid, loadTrainingData } from './data.js';
import type { ResumeStatus } from './trainer.js';

/** Deterministic held-out split: a seeded permutation, the last `fraction` held out (at least one when possible). */
export function splitSamples(samples: readonly Sample[], fraction: number, seed: number): { train: Sample[]; held: Sample[] } {
  const idx = new Rng(seed ^ 0x5eed).shuffle(samples.map((_, i) => i));
  const n = fraction > 0 && samples.length > 1 ? Math.max(1, Math.round(samples.length * fraction)) : 0;
  const held = new Set(idx.slice(idx.length - n));
  return { train: samples.filter((_, i) => !held.has(i)), held: samples.filter((_, i) => held.has(i)) };
}

export interface RunData {
  readonly train: Sample[];
  readonly held: Sample[];
  /** The invalid rows of --data (reported at the start). */
  readonly invalid: LoadedData['invalid'];
  /** Invalid rows of --data and --eval-data together (the result's count). */
  readonly invalidCount: number;
  readonly truncated: number;
  /** Of --data. */
  readonly fingerprint: string;
}

/** --data, and --eval-data or a held-out split of --data; bad rows stop the run unless --skip-invalid. */
export async function loadRunData(cfg: TrainConfig, tok: Tokenizer): Promise<RunData> {
  const dataOpts = { maxLength: cfg.maxLength, trainOnInputs: cfg.trainOnInputs, truncate: cfg.truncate };
  const data = await loadTrainingData(cfg.data, tok, dataOpts);
  checkInvalid(cfg.data, data, cfg.skipInvalid);
  let train: Sample[], held: Sample[];
  let invalidCount = data.invalid.length;
  if (cfg.evalData) {
    const ev = await loadTrainingData(cfg.evalData, tok, dataOpts);
    checkInvalid(cfg.evalData, ev, cfg.skipInvalid);
    invalidCount += ev.invalid.length;
    train = data.samples;
    held = ev.samples;
  } else ({ train, held } = splitSamples(data.samples, cfg.evalFraction, cfg.seed));
  if (train.length === 0) throw new LorakitError('LK_DATA', `no training samples left after holding out ${held.length} for evaluation`);
  return { train, held, invalid: data.invalid, invalidCount, truncated: data.truncated, fingerprint: data.fingerprint };
}

/** The adapter being trained: its tensors (sorted by name, the order of params, moments and gradients) and bindings. */
export interface TrainedAdapter {
  readonly adapter: Adapter;
  readonly names: readonly string[];
  readonly params: readonly Float32Array[];
  readonly adam: AdamWState;
  /** For evaluation: no dropout. */
  readonly evalBinding: LinearAdapter;
  /** For the training step: with the config's dropout. */
  readonly trainBinding: LinearAdapter;
}

export function initAdapter(lora: LoraConfig, base: Checkpoint, seed: number): TrainedAdapter {
  const sites = resolveSites(lora, linearModules(base.config));
  const tensors = initLoraTensors(sites, lora.init_lora_weights, seed);
  const names = [...tensors.keys()].sort();
  const params = names.map((n) => tensors.get(n)!.data);
  const adapter: Adapter = { config: lora, sites, tensors };
  return {
    adapter, names, params, adam: createAdamWState(params),
    evalBinding: bindAdapter(adapter), trainBinding: bindAdapter(adapter, { training: true }),
  };
}

export interface StartPoint { readonly state: TrainState; readonly resumedFrom: number | null; readonly resume: ResumeStatus }

/**
 * Where the run starts. With --resume and a checkpoint in the run folder: that checkpoint's state, with the adapter
 * tensors and AdamW moments restored, after checking it was written by the same base and training config.
 */
export function startPoint(cfg: TrainConfig, runDir: string, ad: TrainedAdapter, fresh: TrainState, resume: boolean): StartPoint {
  const ck = openRunDir(runDir, ad.names, resume);
  if (!ck) return { state: fresh, resumedFrom: null, resume: resume ? 'no-checkpoint' : 'off' };
  const fp = fresh.baseFingerprint;
  if (ck.state.baseFingerprint !== fp) {
    const was = ck.state.baseFingerprint.slice(0, 12), is = fp.slice(0, 12);
    const msg = `cannot resume: the checkpoint in '${runDir}' was trained on base ${was}, but '${cfg.model}' is ${is}`;
    throw new LorakitError('LK_BASE_MISMATCH', msg);
  }
  if (ck.state.configHash !== fresh.configHash) {
    throw new LorakitError('LK_CHECKPOINT', `cannot resume: the training config differs from the one that wrote the checkpoint in '${runDir}'`, {
      hint: 'resume with the same flags (only --max-steps, --epochs, --threads and --gradient-checkpointing may change)',
    });
  }
  restoreTensors(ck, ad.names, ad.params, ad.adam.m, ad.adam.v);
  ad.adam.step = ck.state.step;
  return { state: ck.state, resumedFrom: ck.state.step, resume: 'resumed' };
}
