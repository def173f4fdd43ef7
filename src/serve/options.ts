// What `lorakit serve` (and createServer) can be told: the model, the adapters, and the limits.
import type { Checkpoint } from '../models/checkpoint.js';
import type { QuantOptions } from '../models/quant/scheme.js';
import type { Registry } from '../registry/index.js';
import type { Tenant } from './auth.js';

export interface ServeOptions {
  /** HF model folder, or an already loaded checkpoint. */
  readonly model: string | Checkpoint;
  /** Quantize the base while loading (when `model` is a folder). */
  readonly quantize?: QuantOptions;
  /** Adapters served by name (name → PEFT folder); loaded on first use unless `preload`. */
  readonly adapters?: Readonly<Record<string, string>>;
  /** Resolve unknown model names as registry references (name, name@v3, name@alias). */
  readonly registry?: Registry;
  /** Seconds before a served 'name@alias' is checked again in the registry (default 5; see AdapterManagerOptions). */
  readonly aliasTtlS?: number;
  readonly maxLoras?: number;
  readonly maxLoraRank?: number;
  readonly maxBatch?: number;
  readonly maxQueue?: number;
  /** Upper bound on max_tokens (default: the model's context). */
  readonly maxTokensLimit?: number;
  readonly maxPromptTokens?: number;
  /** Request bodies above this get 413 before they are read whole (default: 3 × the largest prompt that can fit
   *  in bytes (room for JSON escapes) + 64 KiB, at least 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Prompts longer than this (bytes) are tokenized in a worker thread, off the event loop (default 8192). */
  readonly tokenizeInlineMaxBytes?: number;
  /** With API keys on, /metrics needs an admin key or this key; with keys off, this key alone (if given). */
  readonly metricsKey?: string;
  readonly requestTimeoutS?: number;
  /** API keys file path, or tenants directly. */
  readonly apiKeys?: string | readonly Tenant[];
  /** Merge this adapter (name in `adapters`) into the weights and serve only it, with no LoRA overhead. */
  readonly merged?: string;
  readonly servedModelName?: string;
  readonly preload?: boolean;
  readonly threads?: number;
  /** Bake the base weights into the decode graph (CausalLM bakeDecodeWeights). */
  readonly bakeWeights?: boolean;
  readonly logger?: boolean;
}
