// Everything a server needs before it takes a request: the base model, the limits derived from its context and
// tokenizer, tenants, metrics, the adapters (batched in slots, or one merged into the weights) and a warm engine.
// The routes (src/serve/routes/) read this context; they hold no state of their own.
import { basename, resolve as resolvePath } from 'node:path';
import { LorakitError } from '../errors.js';
import { CausalLM } from '../models/causal-lm.js';
import { type Checkpoint, loadCheckpoint } from '../models/checkpoint.js';
import { fingerprintModelDir } from '../models/fingerprint.js';
import type { Tokenizer } from '../models/tokenizer.js';
import { loadAdapterFor } from '../lora/load.js';
import { mergeAdapterWeights } from '../lora/merge.js';
import { MultiLoraSlots } from '../lora/multi.js';
import { AdapterManager } from './adapters.js';
import { Auth, loadApiKeys } from './auth.js';
import { BatchEngine } from './engine.js';
import { Lifecycle } from './lifecycle.js';
import { ServeMetrics } from './metrics.js';
import type { ServeOptions } from './options.js';
import { TokenizeWorker, maxBytesPerToken } from './tokenize.js';

export interface ServeLimits {
  /** The model's context (max_position_embeddings). */
  readonly ctx: number;
  readonly maxTokens: number;
  readonly maxPromptTokens: number;
  /** A prompt of more bytes cannot fit maxPromptTokens (bytesPerToken is the tokenizer's worst case). */
  readonly maxPromptBytes: number;
  readonly bytesPerToken: number;
  readonly bodyBytes: number;
  /** Prompts up to this many bytes are tokenized on the event loop; longer ones in the worker. */
  readonly inlineTokenizeBytes: number;
  readonly maxQueue: number;
  readonly maxBatch: number;
  readonly timeoutMs: number;
}

export interface ServeContext {
  readonly opts: ServeOptions;
  readonly checkpoint: Checkpoint;
  readonly tok: Tokenizer;
  readonly baseName: string;
  readonly limits: ServeLimits;
  readonly auth: Auth;
  readonly metrics: ServeMetrics;
  readonly engine: BatchEngine;
  /** Null in merged mode (mergedName is then the one model served). */
  readonly adapters: AdapterManager | null;
  readonly mergedName: string | null;
  readonly eos: ReadonlySet<number>;
  readonly tokWorker: TokenizeWorker;
  /** starting / ready / draining, and the generation requests in flight (GET /ready, drain). */
  readonly life: Lifecycle;
}

export async function setupServing(opts: ServeOptions): Promise<ServeContext> {
  const ckpt = typeof opts.model === 'string' ? await loadCheckpoint(opts.model, { tokenizer: true, quantize: opts.quantize }) : opts.model;
  const tok = ckpt.tokenizer;
  if (!tok) throw new LorakitError('LK_SERVE', `'${ckpt.dir}' has no tokenizer.json; the server needs one to read prompts`);
  if (opts.metricsKey !== undefined && opts.metricsKey.length < 8) throw new LorakitError('LK_ARG', "'--metrics-key' must be at least 8 characters");
  const baseName = opts.servedModelName ?? basename(resolvePath(ckpt.dir));
  if (opts.adapters?.[baseName] !== undefined) {
    throw new LorakitError('LK_ARG', `adapter name '${baseName}' is the base model's name; choose another name or set --served-model-name`);
  }
  const limits = servingLimits(opts, ckpt.config.maxPositionEmbeddings, tok);
  const auth = new Auth(opts.apiKeys === undefined ? null : typeof opts.apiKeys === 'string' ? loadApiKeys(opts.apiKeys) : opts.apiKeys);
  const metrics = new ServeMetrics();
  const eos = new Set(ckpt.generationConfig.eosTokenIds.length ? ckpt.generationConfig.eosTokenIds : tok.eosTokenIds);
  let fp: Promise<string> | undefined;
  const baseFingerprint = (): Promise<string> => (fp ??= fingerprintModelDir(ckpt.dir).then((f) => f.fingerprint));
  const lmOptions = { threads: opts.threads, bakeDecodeWeights: opts.bakeWeights };

  let lm: CausalLM, adapters: AdapterManager | null = null, slots: MultiLoraSlots | undefined;
  if (opts.merged) {
    lm = new CausalLM(ckpt.config, await mergedWeights(opts, ckpt, baseFingerprint), ckpt.shapes, lmOptions);
  } else {
    lm = new CausalLM(ckpt.config, ckpt.weights, ckpt.shapes, { ...lmOptions, quant: ckpt.quant });
    slots = new MultiLoraSlots((opts.maxLoras ?? 8) + 1);
    adapters = new AdapterManager(ckpt, slots, {
      maxRank: opts.maxLoraRank ?? 64, baseFingerprint, metrics, registry: opts.registry, aliasTtlS: opts.aliasTtlS, baseNames: [baseName],
    });
    for (const [name, dir] of Object.entries(opts.adapters ?? {})) await adapters.register(name, dir, { preload: opts.preload });
  }
  const engine = new BatchEngine(lm, {
    maxBatch: limits.maxBatch, slots, threads: opts.threads, decode: (ids) => tok.decode(ids, { skipSpecialTokens: true }),
    hooks: { onStep: (kind, _rows, ms) => metrics.stepLatency.observe(ms / 1000, { kind }) },
  });
  await engine.warmup();
  engine.onStep((s) => { if (s.kind === 'decode') metrics.modelsPerStep.observe(new Set(s.models).size); });
  metrics.queueDepth.set(() => engine.queueDepth);
  metrics.runningBatch.set(() => engine.batchSize);
  const tokWorker = new TokenizeWorker(ckpt.dir);
  return {
    opts, checkpoint: ckpt, tok, baseName, limits, auth, metrics, engine, adapters, mergedName: opts.merged ?? null,
    eos, tokWorker, life: new Lifecycle(),
  };
}

function servingLimits(opts: ServeOptions, ctx: number, tok: Tokenizer): ServeLimits {
  const maxPromptTokens = Math.min(opts.maxPromptTokens ?? ctx - 1, ctx - 1);
  // Byte cap before tokenizing (issue 13): a prompt of more than maxPromptTokens × (max bytes per token) bytes
  // cannot fit, so it is refused without being tokenized; the body limit follows from it.
  const bytesPerToken = maxBytesPerToken(tok);
  const maxPromptBytes = maxPromptTokens * bytesPerToken;
  return {
    ctx, maxTokens: Math.min(opts.maxTokensLimit ?? ctx, ctx - 1), maxPromptTokens, maxPromptBytes, bytesPerToken,
    bodyBytes: opts.maxBodyBytes ?? Math.max(1 << 20, 3 * maxPromptBytes + (64 << 10)),
    inlineTokenizeBytes: opts.tokenizeInlineMaxBytes ?? 8192,
    maxQueue: opts.maxQueue ?? 64, maxBatch: opts.maxBatch ?? 16, timeoutMs: (opts.requestTimeoutS ?? 600) * 1000,
  };
}

/** --merged: the one adapter folded into the base weights (no LoRA work per token). */
async function mergedWeights(opts: ServeOptions, ckpt: Checkpoint, fingerprint: () => Promise<string>): Promise<Map<string, Float32Array>> {
  const merged = opts.merged!;
  const others = Object.keys(opts.adapters ?? {}).filter((n) => n !== merged);
  if (others.length) {
    throw new LorakitError(
      'LK_ARG',
      `--merged '${merged}' serves that one adapter only; remove --adapter ${others.join(', ')} (or drop --merged to batch them all)`,
    );
  }
  if (ckpt.quant) {
    throw new LorakitError(
      'LK_ARG',
      `--merged cannot be combined with a quantized base (${ckpt.quantization}): merging needs float weights; serve the adapter unmerged`,
    );
  }
  const dir = opts.adapters?.[merged];
  if (!dir) throw new LorakitError('LK_ARG', `--merged '${merged}' names no adapter given with --adapter NAME=DIR`);
  const a = await loadAdapterFor(ckpt, dir, { fingerprint });
  return new Map([...ckpt.weights, ...await mergeAdapterWeights(ckpt.weights, a)]);
}
