// The training configuration: one typed object with defaults, help text and one validation pass. Flags, a YAML or
// JSON config file and defaults combine with precedence CLI > file > defaults; unknown keys are rejected.
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { LorakitError } from '../errors.js';
import type { QloraMode } from './step.js';

export interface TrainConfig {
  model: string;
  data: string;
  evalData: string | null;
  evalFraction: number;
  out: string;
  runDir: string | null;
  // LoRA (PEFT names in adapter_config.json)
  rank: number;
  alpha: number;
  dropout: number;
  targetModules: string[];
  rslora: boolean;
  layersToTransform: number[] | null;
  rankPattern: Record<string, number>;
  alphaPattern: Record<string, number>;
  init: 'kaiming' | 'gaussian';
  // optimisation
  lr: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  warmupSteps: number;
  schedule: 'cosine' | 'linear' | 'constant';
  epochs: number;
  maxSteps: number | null;
  batchSize: number;
  gradAccum: number;
  maxGradNorm: number;
  maxLength: number;
  packing: boolean;
  trainOnInputs: boolean;
  truncate: boolean;
  skipInvalid: boolean;
  seed: number;
  evalEvery: number;
  earlyStoppingPatience: number;
  saveEvery: number;
  threads: number | null;
  gradientCheckpointing: boolean;
  // frozen base precision (QLoRA with int8/int4)
  quantize: 'none' | 'int8' | 'int4';
  quantBlock: number;
  quantZeroPoint: boolean;
  quantAccuracy: 'float' | 'int8';
  qloraMode: QloraMode;
}

export const trainDefaults: TrainConfig = {
  model: '', data: '', evalData: null, evalFraction: 0.1, out: '', runDir: null,
  rank: 8, alpha: 16, dropout: 0, targetModules: [], rslora: false, layersToTransform: null, rankPattern: {}, alphaPattern: {}, init: 'kaiming',
  lr: 2e-4, weightDecay: 0, beta1: 0.9, beta2: 0.999, warmupSteps: 0, schedule: 'cosine', epochs: 1, maxSteps: null,
  batchSize: 4, gradAccum: 1, maxGradNorm: 1, maxLength: 512, packing: false, trainOnInputs: false, truncate: false, skipInvalid: false,
  seed: 0, evalEvery: 0, earlyStoppingPatience: 0, saveEvery: 0, threads: null, gradientCheckpointing: false,
  quantize: 'none', quantBlock: 32, quantZeroPoint: false, quantAccuracy: 'int8', qloraMode: 'fast',
};

export const trainHelp: { readonly [K in keyof TrainConfig]: string } = {
  model: 'HF model folder (config.json, *.safetensors, tokenizer.json)',
  data: 'training JSONL: {"text"}, {"prompt","completion"} or {"messages":[{"role","content"}]}',
  evalData: 'held-out JSONL (default: a deterministic --eval-fraction split of --data)',
  evalFraction: 'fraction of --data held out for evaluation when --eval-data is not given',
  out: 'where to write the PEFT adapter folder',
  runDir: 'run folder for metrics.jsonl and checkpoints (default: <out>.run)',
  rank: 'LoRA rank r',
  alpha: 'LoRA alpha; scaling = alpha / r',
  dropout: 'LoRA dropout on the adapter input during training (PEFT lora_dropout)',
  targetModules: "modules to adapt (q_proj,v_proj / c_attn by default; 'all-linear' for every linear layer)",
  rslora: 'rank-stabilised scaling alpha / sqrt(r)',
  layersToTransform: 'only adapt these layer indices (comma-separated)',
  rankPattern: 'per-module rank overrides as JSON {"regex": r}',
  alphaPattern: 'per-module alpha overrides as JSON {"regex": alpha}',
  init: "initialisation of A: 'kaiming' (PEFT default) or 'gaussian'",
  lr: 'peak learning rate',
  weightDecay: 'AdamW decoupled weight decay on the adapter weights',
  beta1: 'AdamW beta1',
  beta2: 'AdamW beta2',
  warmupSteps: 'linear warmup steps',
  schedule: 'learning-rate decay after warmup: cosine, linear or constant',
  epochs: 'passes over the training data',
  maxSteps: 'stop after this many optimizer steps (overrides --epochs)',
  batchSize: 'sequences per micro-batch',
  gradAccum: 'micro-batches per optimizer step',
  maxGradNorm: 'clip the global gradient norm to this value (0 = off)',
  maxLength: 'maximum tokens per sequence',
  packing: 'pack several samples into each sequence (attention kept within each sample)',
  trainOnInputs: 'also compute the loss on prompts / user turns',
  truncate: 'truncate samples longer than --max-length instead of rejecting them',
  skipInvalid: 'skip invalid samples (reported with file:line) instead of stopping',
  seed: 'seed for initialisation, shuffling and the held-out split',
  evalEvery: 'evaluate on the held-out split every N steps (0 = only at the end)',
  earlyStoppingPatience: 'stop after N evaluations without improvement (0 = off)',
  saveEvery: 'write a resumable checkpoint every N steps (0 = off)',
  threads: 'onnxruntime intra-op threads (default: all cores)',
  gradientCheckpointing: 'recompute each decoder layer in the backward pass: less memory (only layer inputs kept), about 1/3 more compute',
  quantize: 'quantize the frozen base while loading: none, int8 or int4 (QLoRA; the adapter stays float32)',
  quantBlock: 'weights per quantization block: 16, 32, 64 or 128',
  quantZeroPoint: 'asymmetric quantization with a zero point per block (default: symmetric)',
  quantAccuracy: "MatMulNBits compute: 'int8' (fast) or 'float' (exact w.r.t. the quantized weights)",
  qloraMode: "quantized base: 'fast' (packed kernels, more memory) or 'low-memory' (dequantize per layer; implies --gradient-checkpointing)",
};

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const camel = (s: string): string => s.replace(/[-_]([a-z])/g, (_, c: string) => c.toUpperCase());

/** Reads a YAML/JSON config file into partial TrainConfig; keys may be camelCase, kebab-case or snake_case. */
export function readTrainConfigFile(path: string): Partial<TrainConfig> {
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new LorakitError('LK_TRAIN_CONFIG', `cannot read config file '${path}': ${(e as Error).message}`, { cause: e });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new LorakitError('LK_TRAIN_CONFIG', `config file '${path}' must hold a mapping of keys to values`);
  const out: Record<string, unknown> = {};
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const key = camel(k);
    if (!(key in trainDefaults)) unknown.push(k);
    else out[key] = v;
  }
  if (unknown.length) {
    throw new LorakitError(
      'LK_TRAIN_CONFIG',
      `config file '${path}': unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')}`,
      { hint: `known keys: ${Object.keys(trainDefaults).map(kebab).join(', ')}` },
    );
  }
  return out as Partial<TrainConfig>;
}

/** Merges layers (later wins) and validates the whole config, listing every bad field at once. */
export function resolveTrainConfig(...layers: Partial<TrainConfig>[]): TrainConfig {
  const c = { ...trainDefaults } as TrainConfig;
  for (const l of layers) for (const [k, v] of Object.entries(l)) if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
  const bad: string[] = [];
  const posInt = (k: keyof TrainConfig): void => {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) <= 0)
      bad.push(`'${kebab(k)}' must be a positive integer, got ${JSON.stringify(v)}`);
  };
  const nonNegInt = (k: keyof TrainConfig): void => {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) < 0)
      bad.push(`'${kebab(k)}' must be an integer >= 0, got ${JSON.stringify(v)}`);
  };
  const num = (k: keyof TrainConfig, lo: number, hi: number, loOpen = false): void => {
    const v = c[k] as number;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (loOpen && v === lo))
      bad.push(`'${kebab(k)}' must be in ${loOpen ? '(' : '['}${lo}, ${hi}], got ${JSON.stringify(v)}`);
  };
  if (!c.model) bad.push("'model' is required");
  if (!c.data) bad.push("'data' is required");
  if (!c.out) bad.push("'out' is required");
  posInt('rank'); posInt('epochs'); posInt('batchSize'); posInt('gradAccum'); posInt('maxLength');
  nonNegInt('warmupSteps'); nonNegInt('seed'); nonNegInt('evalEvery'); nonNegInt('earlyStoppingPatience'); nonNegInt('saveEvery');
  if (c.maxSteps !== null) posInt('maxSteps');
  num('alpha', 0, 1e6, true);
  num('lr', 0, 10, true);
  num('weightDecay', 0, 10);
  num('beta1', 0, 1);
  num('beta2', 0, 1);
  num('maxGradNorm', 0, 1e9);
  num('evalFraction', 0, 0.9);
  num('dropout', 0, 0.99);
  if (!['cosine', 'linear', 'constant'].includes(c.schedule))
    bad.push(`'schedule' must be cosine, linear or constant, got ${JSON.stringify(c.schedule)}`);
  if (!['kaiming', 'gaussian'].includes(c.init)) bad.push(`'init' must be kaiming or gaussian, got ${JSON.stringify(c.init)}`);
  if (!Array.isArray(c.targetModules)) bad.push(`'target-modules' must be a list, got ${JSON.stringify(c.targetModules)}`);
  if (c.threads !== null) posInt('threads');
  if (typeof c.gradientCheckpointing !== 'boolean')
    bad.push(`'gradient-checkpointing' must be true or false, got ${JSON.stringify(c.gradientCheckpointing)}`);
  if (!['none', 'int8', 'int4'].includes(c.quantize)) bad.push(`'quantize' must be none, int8 or int4, got ${JSON.stringify(c.quantize)}`);
  if (![16, 32, 64, 128].includes(c.quantBlock)) bad.push(`'quant-block' must be 16, 32, 64 or 128, got ${JSON.stringify(c.quantBlock)}`);
  if (!['fast', 'low-memory'].includes(c.qloraMode)) bad.push(`'qlora-mode' must be fast or low-memory, got ${JSON.stringify(c.qloraMode)}`);
  if (!['float', 'int8'].includes(c.quantAccuracy)) bad.push(`'quant-accuracy' must be float or int8, got ${JSON.stringify(c.quantAccuracy)}`);
  if (bad.length) throw new LorakitError('LK_TRAIN_CONFIG', `invalid training config:\n  - ${bad.join('\n  - ')}`, { details: { problems: bad } });
  return c;
}
