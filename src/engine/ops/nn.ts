// Neural-network composites built only from primitives (so they need no gradient rule): activations, norms,
// rotary embedding, attention with grouped-query heads and masks, cross-entropy with an ignore index.
import type { Dim } from '../graph/dim.js';
import type { Sym } from '../graph/graph.js';
import {
  add, and, bitwiseAnd, bitwiseXor, cast, div, equal, erf, less, mul, neg, not, pow, reciprocal, sigmoid, sqrt, sub,
  tanh, where,
} from './elementwise.js';
import { matmul } from './matmul.js';
import { logSoftmax, reduceMean, reduceSum, softmax } from './reduce.js';
import { concat, dimOf, gather, reshape, shapeOf, slice, transpose, transposeLast2, unsqueeze } from './shape.js';

export const silu = (x: Sym): Sym => mul(x, sigmoid(x));

/** GELU, exact (erf) form: x · ½(1 + erf(x/√2)). */
export const geluErf = (x: Sym): Sym => mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));

/** GELU, tanh form (GPT-2's gelu_new / gelu_pytorch_tanh): ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export const geluTanh = (x: Sym): Sym => mul(mul(x, 0.5), add(tanh(mul(add(x, mul(pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI))), 1));

const activations = { silu, swish: silu, gelu: geluErf, gelu_new: geluTanh, gelu_pytorch_tanh: geluTanh, gelu_fast: geluTanh } as const;
/** HF activation names the engine builds (config parsing refuses any other, so graph builds never meet one). */
export type ActivationName = keyof typeof activations;
export const activationNames = Object.keys(activations) as readonly ActivationName[];

/** HF's activation names → builder. */
export function activation(name: ActivationName): (x: Sym) => Sym {
  return activations[name];
}

/** RMSNorm (Llama): x · rsqrt(mean(x²) + eps) · w, over the last dim. */
export function rmsNorm(x: Sym, weight: Sym, eps: number): Sym {
  const ms = reduceMean(mul(x, x), [-1], true);
  return mul(mul(x, reciprocal(sqrt(add(ms, eps)))), weight);
}

/** LayerNorm over the last dim with affine weight and bias. */
export function layerNorm(x: Sym, weight: Sym, bias: Sym | null, eps: number): Sym {
  const mu = reduceMean(x, [-1], true);
  const xc = sub(x, mu);
  const varr = reduceMean(mul(xc, xc), [-1], true);
  const y = mul(mul(xc, reciprocal(sqrt(add(varr, eps)))), weight);
  return bias ? add(y, bias) : y;
}

/**
 * Rotary tables from position ids: cos, sin of shape (B, 1, T, D) (HF's rotate_half layout: the two halves repeat
 * the frequencies). invFreq is computed on the TS side (it holds rope scaling) and is (D/2).
 */
export function rotaryTables(positionIds: Sym, invFreq: Sym): { cos: Sym; sin: Sym } {
  const pos = unsqueeze(cast(positionIds, invFreq.dtype), [-1]); // (B, T, 1)
  const freqs = mul(pos, invFreq); // (B, T, D/2)
  const emb = unsqueeze(concat([freqs, freqs], -1), [1]); // (B, 1, T, D)
  return { cos: cosOf(emb), sin: sinOf(emb) };
}

// ONNX has Cos/Sin, but the tables never need gradients, so they are plain nodes built here.
function cosOf(x: Sym): Sym { return x.graph.node('Cos', [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0]; }
function sinOf(x: Sym): Sym { return x.graph.node('Sin', [x], {}, [{ dtype: x.dtype, shape: x.shape }])[0]; }

/** Applies rotary embedding to x (B, H, T, D): x·cos + rotate_half(x)·sin, rotate_half(x) = [-x₂, x₁]. */
export function applyRotary(x: Sym, cos: Sym, sin: Sym): Sym {
  const d = x.shape[x.rank - 1] as number;
  const x1 = slice(x, -1, 0, d / 2), x2 = slice(x, -1, d / 2, d);
  return add(mul(x, cos), mul(concat([neg(x2), x1], -1), sin));
}

/** (B, T, H·D) → (B, H, T, D) */
export function splitHeads(x: Sym, heads: number, headDim: number): Sym {
  return transpose(reshape(x, [x.shape[0], x.shape[1], heads, headDim]), [0, 2, 1, 3]);
}

/** (B, H, T, D) → (B, T, H·D) */
export function mergeHeads(x: Sym): Sym {
  const [b, h, t, d] = x.shape;
  return reshape(transpose(x, [0, 2, 1, 3]), [b, t, typeof h === 'number' && typeof d === 'number' ? h * d : -1]);
}

/**
 * Additive attention bias (B, 1, T, S): 0 where query i may see key j, a large negative number elsewhere (HF uses
 * float32's min, which keeps fully masked rows finite). Query i sits at absolute index past + i; keys at 0..S-1.
 * `keyMask` (B, S) is 1 for real tokens, 0 for padding; `segments` (B, T) (packing, only when past = 0) restricts
 * attention to keys of the same segment.
 */
export function attentionBias(opts: {
  queryLen: Dim; keyLen: Dim; past: Sym; keyMask: Sym; segments?: Sym; slidingWindow?: number; dtype?: 'float32' | 'float64';
}): Sym {
  const g = opts.keyMask.graph;
  const one = g.scalar(1, 'int64');
  const kLen = dimOf(opts.keyMask, 1);
  const qLen = sub(kLen, opts.past);
  const qIdx = add(g.node('Range', [g.scalar(0, 'int64'), qLen, one], {}, [{ dtype: 'int64', shape: [opts.queryLen] }])[0], opts.past); // (T)
  const kIdx = g.node('Range', [g.scalar(0, 'int64'), kLen, one], {}, [{ dtype: 'int64', shape: [opts.keyLen] }])[0]; // (S)
  let allowed = not(less(unsqueeze(qIdx, [1]), unsqueeze(kIdx, [0]))); // (T, S): j <= past + i
  if (opts.slidingWindow) allowed = and(allowed, less(sub(unsqueeze(qIdx, [1]), unsqueeze(kIdx, [0])), opts.slidingWindow));
  let ok = and(unsqueeze(allowed, [0, 1]), unsqueeze(equal(opts.keyMask, g.scalar(1, opts.keyMask.dtype)), [1, 2])); // (B,1,T,S)
  if (opts.segments) ok = and(ok, unsqueeze(equal(unsqueeze(opts.segments, [2]), unsqueeze(opts.segments, [1])), [1]));
  return where(ok, g.scalar(0, opts.dtype ?? 'float32'), g.scalar(-3.4028234663852886e38, opts.dtype ?? 'float32'));
}

/**
 * Scaled dot-product attention with grouped-query heads: q (B, H, T, D), k/v (B, Hkv, S, D), bias (B, 1, T, S).
 * Query heads are grouped as (B, Hkv, rep·T, D) so k/v are never repeated in memory.
 */
export function attention(q: Sym, k: Sym, v: Sym, bias: Sym, scale?: number): Sym {
  const [b, h, t, d] = q.shape;
  const hkv = k.shape[1] as number;
  const rep = (h as number) / hkv;
  const s = scale ?? 1 / Math.sqrt(d as number);
  const qs = mul(q, s); // scaling q (…, D) is cheaper than scaling the (…, S) scores
  if (rep === 1) {
    const scores = add(matmul(qs, transposeLast2(k)), bias); // (B, H, T, S)
    return matmul(softmax(scores, -1), v); // (B, H, T, D)
  }
  const qg = reshape(qs, [b, hkv, rep, t, d]); // (B, Hkv, rep, T, D)
  const scores = add(matmul(qg, unsqueeze(transposeLast2(k), [2])), unsqueeze(bias, [1])); // (B, Hkv, rep, T, S)
  const out = matmul(softmax(scores, -1), unsqueeze(v, [2])); // (B, Hkv, rep, T, D)
  return reshape(out, [b, h, t, d]);
}

/**
 * Mean cross-entropy over positions whose label is not `ignoreIndex`: logits (N, V), labels (N) int64.
 * Returns the mean `loss`, the summed `sum`, the `count` of scored positions and per-position log-probs (0 where
 * ignored). log p(label) is gathered from the flattened LogSoftmax at row·V + label, so no (N, V) one-hot is ever
 * built; its gradient is a ScatterND back into an (N·V) zero tensor.
 */
export function crossEntropy(logits: Sym, labels: Sym, ignoreIndex = -100): { loss: Sym; sum: Sym; count: Sym; tokenLogProbs: Sym } {
  const g = logits.graph;
  const vocab = logits.shape[logits.rank - 1] as number;
  const lp = logSoftmax(logits, -1); // (N, V)
  const valid = not(equal(labels, g.scalar(ignoreIndex, 'int64'))); // (N)
  const safe = where(valid, labels, g.scalar(0, 'int64'));
  const n = dimOf(labels, 0);
  const rows = g.node('Range', [g.scalar(0, 'int64'), n, g.scalar(1, 'int64')], {}, [{ dtype: 'int64', shape: labels.shape }])[0]; // (N)
  const picked = gather(reshape(lp, [-1]), add(mul(rows, vocab), safe), 0); // (N): log p(label)
  const validF = cast(valid, logits.dtype);
  const tokenLogProbs = mul(picked, validF);
  const sum = neg(reduceSum(tokenLogProbs, [0], false));
  const count = reduceSum(validF, [0], false);
  const loss = div(sum, add(count, 1e-30)); // count 0 → loss 0, not NaN
  return { loss, sum, count, tokenLogProbs };
}

/** Embedding lookup: table (V, H), ids (…) → (…, H). */
export const embedding = (table: Sym, ids: Sym): Sym => gather(table, ids, 0);

/**
 * Dropout with a counter-based hash (no RNG state in the graph): element i of x is kept when
 * hash(i, seed) / 2³¹ ≥ p, and kept values are scaled by 1/(1−p). `seed` is an int64 scalar input, so a trainer can
 * derive it from (run seed, step) and a resumed run draws exactly the same masks. Works for x of rank 1–4.
 */
export function hashDropout(x: Sym, p: number, seed: Sym, salt: number): Sym {
  if (p <= 0) return x;
  const g = x.graph;
  const shape = shapeOf(x);
  const dim = (k: number): Sym => dimOf(x, k, shape);
  // Flat element index built by broadcasting one Range per axis: ((i0·d1 + i1)·d2 + i2)…
  let idx: Sym | null = null;
  for (let k = 0; k < x.rank; k++) {
    const r = g.node('Range', [g.scalar(0, 'int64'), dim(k), g.scalar(1, 'int64')], {}, [{ dtype: 'int64', shape: [x.shape[k]] }])[0];
    const axes = x.shape.map((_, j) => j).filter((j) => j !== k);
    const rk = axes.length ? unsqueeze(r, axes) : r; // 1 everywhere but axis k
    idx = idx ? add(mul(idx, dim(k)), rk) : rk;
  }
  const M = 0x7fffffff; // 31-bit arithmetic keeps every int64 product below 2⁶³
  const mix = (h: Sym): Sym => bitwiseXor(h, div(h, 65536));
  let h = bitwiseAnd(add(add(mul(idx!, 1103515245), mul(seed, 2654435)), salt * 97531 + 12345), M);
  h = mix(h);
  h = mix(bitwiseAnd(mul(h, 0x45d9f3b), M));
  h = mix(bitwiseAnd(mul(h, 0x45d9f3b), M));
  const u = div(cast(h, x.dtype), 2147483648);
  const keep = cast(not(less(u, p)), x.dtype);
  return mul(x, mul(keep, 1 / (1 - p)));
}
