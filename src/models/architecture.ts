// What a model builder receives: weights by HF name and a `linear` hook. Models stay LoRA-free (mlx-lm, PEFT):
// src/lora wraps `linear` to add the low-rank term on the paths it adapts.
import type { Sym } from '../engine/index.js';
import { add, embedding, matmul, transposeLast2 } from '../engine/index.js';
import type { QuantGraph } from './quant/graph.js';

export interface LinearSpec {
  /** HF module path, e.g. 'model.layers.3.self_attn.q_proj' (PEFT target_modules match against it). */
  readonly path: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly bias: boolean;
  /** GPT-2's Conv1D stores W as (in, out); Linear stores (out, in). */
  readonly conv1d: boolean;
}

export type LinearFn = (spec: LinearSpec, x: Sym) => Sym;

/** W as the checkpoint stores it: (out, in) for Linear, (in, out) for Conv1D. */
export function storedShape(spec: Pick<LinearSpec, 'inFeatures' | 'outFeatures' | 'conv1d'>): [number, number] {
  return spec.conv1d ? [spec.inFeatures, spec.outFeatures] : [spec.outFeatures, spec.inFeatures];
}

export interface ModelContext {
  /** The graph input holding the HF tensor `name` (created on first use). */
  weight(name: string): Sym;
  /** The linear module at HF `path` applied to x; its shape, bias and storage come from the family spec. */
  linear(path: string, x: Sym): Sym;
  /** Rows of the embedding table `name` for integer ids: (…) → (…, hidden). */
  embed(name: string, ids: Sym): Sym;
}

/** The frozen base projection: x·Wᵀ (+ b), or x·W (+ b) for Conv1D; MatMulNBits when W is quantized. */
export function baseLinear(weight: (name: string) => Sym, quant?: QuantGraph): LinearFn {
  return (spec, x) => {
    const name = `${spec.path}.weight`;
    const q = quant?.linear(name, x);
    const w = q ? undefined : weight(name);
    const y = q ?? matmul(x, spec.conv1d ? w! : transposeLast2(w!)); // (…, out)
    return spec.bias ? add(y, weight(`${spec.path}.bias`)) : y;
  };
}

/** Embedding lookup, from quantized rows when the table is quantized. */
export function baseEmbed(weight: (name: string) => Sym, quant?: QuantGraph): (name: string, ids: Sym) => Sym {
  return (name, ids) => quant?.embed(name, ids) ?? embedding(weight(name), ids);
}

/** Inputs every causal LM graph takes (HF names), and the KV cache when decoding. */
export interface CausalLMInputs {
  readonly inputIds: Sym; // (B, T) int64
  readonly positionIds: Sym; // (B, T) int64
  readonly attentionMask: Sym; // (B, S) int64, S = past + T; 1 = real token
  readonly segmentIds?: Sym; // (B, T) int64, packed sequences (no cache)
  readonly past?: readonly { key: Sym; value: Sym }[]; // per layer (B, Hkv, P, D)
}

export interface CausalLMOutputs {
  readonly hidden: Sym; // (B, T, hidden) after the final norm
  readonly present?: readonly { key: Sym; value: Sym }[]; // per layer (B, Hkv, P+T, D)
}
