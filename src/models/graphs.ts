// Builds the ONNX graphs a causal LM runs: scoring/training (full sequence, per-token log-probs and summed loss)
// and generation (KV cache in, last-position logits and the grown cache out). Weights are graph inputs named by
// their HF tensor names: one copy in memory, shared by every graph (see README "weights as inputs").
import { type Dim, Graph, type Sym, crossEntropy, reshape, reshapeLike, slice, squeeze } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import { type LinearFn, type ModelContext, baseEmbed, baseLinear } from './architecture.js';
import type { ModelConfig } from './config.js';
import { familyOf } from './families/index.js';
import { lmHeadName, linearModules } from './modules.js';
import type { QuantizedBase } from './quant/base.js';
import { quantGraph } from './quant/graph.js';

export interface GraphOptions {
  /** 'score': logits/log-probs/loss over a full sequence; 'decode': KV cache in and out, last-position logits. */
  readonly mode: 'score' | 'decode';
  /** Static batch and sequence sizes, or named dynamic dims (default 'B', 'T'). */
  readonly batch?: Dim;
  readonly seq?: Dim;
  /** Packed sequences: a segment_ids input restricts attention to the same segment. */
  readonly packed?: boolean;
  /** score mode: also output full logits (B, T, V) (memory heavy; off for training). */
  readonly logits?: boolean;
  /** Wraps the base linear (LoRA). */
  readonly wrapLinear?: (base: LinearFn, weight: (name: string) => Sym) => LinearFn;
  /** Shapes of every weight available as input (from the checkpoint). */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /**
   * Weights baked into the model as initializers instead of inputs: ORT can prepack them for its GEMM, which pays
   * off for decode-sized matmuls, at the price of the session holding its own copy (see README, engine figures).
   */
  readonly constants?: ReadonlyMap<string, Float32Array>;
  /** Quantized base tensors (initializers run by MatMulNBits); the rest stay float inputs. */
  readonly quant?: QuantizedBase;
  /**
   * How decoder-layer weights of a quantized base run: 'packed' (MatMulNBits, prepacked per session: fastest) or
   * 'dequantize' (blockwise dequantize then MatMul: only the packed bytes stay resident; for training with
   * checkpointing). The LM head always runs packed; in that mode its backward dequantizes it in chunks of rows.
   */
  readonly quantKernels?: 'packed' | 'dequantize';
  readonly name?: string;
}

export interface BuiltGraph {
  readonly graph: Graph;
  /** Weight (and adapter) tensor names the graph takes as inputs. */
  readonly weightInputs: readonly string[];
  /** score mode: the summed next-token loss (scalar), for callers that add gradients. */
  readonly lossSum?: Sym;
}

export function buildCausalLMGraph(cfg: ModelConfig, o: GraphOptions): BuiltGraph {
  const fam = familyOf(cfg);
  const g = new Graph(o.name ?? `${cfg.modelType}_${o.mode}`);
  const B = o.batch ?? 'B', T = o.seq ?? 'T';
  const weightInputs: string[] = [];
  const weights = new Map<string, Sym>();
  const weight = (name: string): Sym => {
    let s = weights.get(name);
    if (!s) {
      const shape = o.shapes.get(name);
      if (!shape) throw new LorakitError('LK_WEIGHTS', `the ${cfg.modelType} graph needs tensor '${name}', which the checkpoint does not have`);
      const baked = o.constants?.get(name);
      s = baked ? g.constant(baked, shape, name) : g.input(name, 'float32', shape);
      weights.set(name, s);
      if (!baked) weightInputs.push(name);
    }
    return s;
  };
  const head = lmHeadName(cfg);
  const lowMemory = { dequantize: (name: string) => name !== head, packedBackward: false };
  const quant = o.quant ? quantGraph(g, o.quant, o.quantKernels === 'dequantize' ? lowMemory : {}) : undefined;
  const base = baseLinear(weight, quant);
  const wrapped = o.wrapLinear ? o.wrapLinear(base, weight) : base;
  const modules = new Map(linearModules(cfg).map((m) => [m.path, m]));
  const linear = (path: string, x: Sym): Sym => {
    const m = modules.get(path);
    if (!m) throw new LorakitError('LK_INTERNAL', `the ${cfg.modelType} forward uses linear module '${path}', which its family spec does not list`);
    return wrapped(m, x);
  };
  const ctx: ModelContext = { weight, linear, embed: baseEmbed(weight, quant) };
  // The output head is a plain frozen linear (LoRA never adapts it, as in PEFT's all-linear).
  const lmHead = (x: Sym): Sym => {
    const path = head.replace(/\.weight$/, '');
    return base({ path, inFeatures: cfg.hiddenSize, outFeatures: cfg.vocabSize, bias: false, conv1d: false }, x);
  };
  const inputIds = g.input('input_ids', 'int64', [B, T]);
  const positionIds = g.input('position_ids', 'int64', [B, T]);
  const { headDim: hd, numKvHeads: nkv } = cfg;

  if (o.mode === 'decode') {
    const past = Array.from({ length: cfg.numLayers }, (_, i) => ({
      key: g.input(`past_key_values.${i}.key`, 'float32', [B, nkv, 'P', hd]),
      value: g.input(`past_key_values.${i}.value`, 'float32', [B, nkv, 'P', hd]),
    }));
    const attentionMask = g.input('attention_mask', 'int64', [B, '(P+T)']);
    const out = fam.forward(cfg, ctx, { inputIds, positionIds, attentionMask, past });
    const last = squeeze(slice(out.hidden, 1, -1, 2 ** 62), [1]); // (B, H)
    g.output('logits', lmHead(last)); // (B, V)
    out.present!.forEach((p, i) => {
      g.output(`present.${i}.key`, p.key);
      g.output(`present.${i}.value`, p.value);
    });
    return { graph: g, weightInputs };
  }

  const attentionMask = g.input('attention_mask', 'int64', [B, T]);
  const segmentIds = o.packed ? g.input('segment_ids', 'int64', [B, T]) : undefined;
  const labels = g.input('labels', 'int64', [B, T]); // next-token targets, already shifted; -100 = ignore
  const { hidden } = fam.forward(cfg, ctx, { inputIds, positionIds, attentionMask, segmentIds });
  const logits = lmHead(hidden); // (B, T, V)
  const flat = reshape(logits, [-1, cfg.vocabSize]); // (B·T, V)
  const ce = crossEntropy(flat, reshape(labels, [-1]), -100);
  g.output('loss_sum', ce.sum);
  g.output('token_count', ce.count);
  g.output('token_logprobs', reshapeLike(ce.tokenLogProbs, labels)); // (B, T)
  if (o.logits) g.output('logits', logits);
  return { graph: g, weightInputs, lossSum: ce.sum };
}
