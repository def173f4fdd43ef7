// lorakit's public library surface: explicit named re-exports only (the CLI is a thin layer over these).

export { LorakitError, isLorakitError, errorCodes, httpStatus } from './errors.js';
export type { ErrorCode } from './errors.js';

// Engine: graphs, ops, autodiff, runtime.
export * as engine from './engine/index.js';

// Models: loading HF folders, running them.
export { loadCheckpoint } from './models/checkpoint.js';
export type { Checkpoint } from './models/checkpoint.js';
export { loadConfig, normalizeConfig, expectedWeights } from './models/config.js';
export type { ModelConfig } from './models/config.js';
export { loadTokenizer, createStreamDecoder } from './models/tokenizer.js';
export type { Tokenizer, ChatMessage } from './models/tokenizer.js';
export { openSafetensors, listTensors } from './models/safetensors.js';
export { writeSafetensors } from './models/safetensors-write.js';
export { CausalLM, makeScoreBatch } from './models/causal-lm.js';
export type { LinearAdapter, ScoreResult } from './models/causal-lm.js';
export { generate, generateNoCache } from './models/generate.js';
export type { GenerateOptions, GenerateResult } from './models/generate.js';
export { perplexity } from './models/perplexity.js';
export { fingerprintModelDir, fingerprintAdapterDir } from './models/fingerprint.js';
export { linearModules, defaultLoraTargets } from './models/modules.js';

// LoRA: PEFT config and folders, binding, merging.
export { parseLoraConfig, toPeftJson } from './lora/config.js';
export type { LoraConfig } from './lora/config.js';
export { resolveSites } from './lora/targets.js';
export type { LoraSite } from './lora/targets.js';
export { initLoraTensors } from './lora/init.js';
export { bindAdapter, trainableParameterCount } from './lora/adapter.js';
export type { Adapter } from './lora/adapter.js';
export { readAdapter, writeAdapter } from './lora/peft-io.js';
export { checkAdapterFor, loadAdapterFor } from './lora/load.js';
export type { AdapterCheck, LoadedAdapter } from './lora/load.js';
export { mergeAdapterWeights } from './lora/merge.js';
export { writeMergedModel } from './lora/merge-folder.js';

// Training.
export { trainAdapter, evaluateLoss } from './train/trainer.js';
export type { TrainResult, TrainHooks } from './train/trainer.js';
export { resolveTrainConfig, readTrainConfigFile, trainDefaults } from './train/config.js';
export type { TrainConfig } from './train/config.js';
export { pretrain } from './train/pretrain.js';

// Data curation and corpora.
export { curate } from './data/index.js';
export { readBrown, isBrownHeldOut } from './data/corpora/brown.js';
export { readSotu } from './data/corpora/sotu.js';

// Evaluation and the promotion gate.
export { evaluate, loadSuite, parseSuite, decideGate, writeEvalReport, bundledSuites } from './eval/index.js';
export type { EvalReport, Suite } from './eval/index.js';

// Serving.
export { createServer } from './serve/server.js';

// Registry and tracking.
export { Registry } from './registry/index.js';
export { Tracker, RUN_KINDS } from './track/index.js';
export type { RunKind } from './track/index.js';
