// A plain float64 forward of the llama family (llama, mistral, qwen2) as lorakit implements it (src/models/llama.ts):
// the reference that quantized models are checked against. Written from the HF definitions, not from lorakit's
// graph code: RMSNorm, RoPE (rotate-half, inv_freq with 'linear' and 'llama3' scaling), grouped-query attention
// with a causal mask, SiLU-gated MLP, optional biases, tied or untied LM head. One sequence, no cache, no padding;
// O(T·H²) loops, meant for tiny models only.
import type { ModelConfig } from '../../src/models/config.js';

/** y (T, out) = x (T, in) · Wᵀ + b, with W stored (out, in) as HF Linear does. */
function linear(x: Float64Array, T: number, w: Float64Array, outF: number, b?: Float64Array): Float64Array {
  const inF = x.length / T, y = new Float64Array(T * outF);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[t * inF + i] * w[o * inF + i];
      y[t * outF + o] = s;
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, T: number, w: Float64Array, eps: number): Float64Array {
  const H = w.length, y = new Float64Array(x.length);
  for (let t = 0; t < T; t++) {
    let ms = 0;
    for (let i = 0; i < H; i++) ms += x[t * H + i] ** 2;
    const r = 1 / Math.sqrt(ms / H + eps);
    for (let i = 0; i < H; i++) y[t * H + i] = x[t * H + i] * r * w[i];
  }
  return y;
}

/** HF's rope inv_freq (transformers modeling_rope_utils: default, linear, llama3), in float64. */
export function invFreq64(cfg: ModelConfig): Float64Array {
  const d = cfg.headDim, s = cfg.ropeScaling;
  return Float64Array.from({ length: d / 2 }, (_, i) => {
    const f = 1 / cfg.ropeTheta ** ((2 * i) / d);
    if (!s) return f;
    if (s.type === 'linear') return f / s.factor;
    const wavelen = (2 * Math.PI) / f, old = s.originalMaxPositionEmbeddings;
    if (wavelen < old / s.highFreqFactor) return f;
    if (wavelen > old / s.lowFreqFactor) return f / s.factor;
    const smooth = (old / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return (1 - smooth) * (f / s.factor) + smooth * f;
  });
}

/** In place on (T, heads·hd): x·cos + rotate_half(x)·sin, rotate_half([x₁, x₂]) = [−x₂, x₁], position t = index. */
function rope(x: Float64Array, T: number, heads: number, hd: number, inv: Float64Array): void {
  const half = hd / 2;
  for (let t = 0; t < T; t++) {
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * hd;
      for (let i = 0; i < half; i++) {
        const c = Math.cos(t * inv[i]), s = Math.sin(t * inv[i]), a = x[o + i], b = x[o + half + i];
        x[o + i] = a * c - b * s;
        x[o + half + i] = b * c + a * s;
      }
    }
  }
}

/** Causal attention; query head h reads kv head floor(h / (nh/nkv)) (HF repeat_kv). Returns (T, nh·hd). */
function attention(q: Float64Array, k: Float64Array, v: Float64Array, T: number, nh: number, nkv: number, hd: number): Float64Array {
  const out = new Float64Array(T * nh * hd), p = new Float64Array(T), scale = 1 / Math.sqrt(hd);
  for (let h = 0; h < nh; h++) {
    const g = Math.floor(h / (nh / nkv));
    for (let t = 0; t < T; t++) {
      let max = -Infinity, sum = 0;
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        for (let i = 0; i < hd; i++) dot += q[(t * nh + h) * hd + i] * k[(s * nkv + g) * hd + i];
        p[s] = dot * scale;
        max = Math.max(max, p[s]);
      }
      for (let s = 0; s <= t; s++) sum += (p[s] = Math.exp(p[s] - max));
      for (let s = 0; s <= t; s++) for (let i = 0; i < hd; i++) out[(t * nh + h) * hd + i] += (p[s] / sum) * v[(s * nkv + g) * hd + i];
    }
  }
  return out;
}

/** Logits (T × V) of one sequence; `weights` by HF name (biases only where the config has them). */
export function causalLmF64(cfg: ModelConfig, weights: ReadonlyMap<string, Float64Array>, ids: readonly number[]): Float64Array {
  if (cfg.modelType === 'gpt2') throw new Error('the float64 reference covers the llama family only');
  if (cfg.hiddenAct !== 'silu') throw new Error(`the float64 reference covers silu only, not ${cfg.hiddenAct}`);
  const T = ids.length, H = cfg.hiddenSize, nh = cfg.numHeads, nkv = cfg.numKvHeads, hd = cfg.headDim, I = cfg.intermediateSize, V = cfg.vocabSize;
  if (cfg.slidingWindow !== null && T > cfg.slidingWindow) throw new Error('the float64 reference has no sliding window');
  const w = (name: string): Float64Array => {
    const t = weights.get(name);
    if (!t) throw new Error(`missing weight '${name}'`);
    return t;
  };
  const lin = (x: Float64Array, path: string, outF: number, bias: boolean): Float64Array =>
    linear(x, T, w(`${path}.weight`), outF, bias ? w(`${path}.bias`) : undefined);
  const inv = invFreq64(cfg), embed = w('model.embed_tokens.weight');
  const x = new Float64Array(T * H);
  ids.forEach((id, t) => x.set(embed.subarray(id * H, (id + 1) * H), t * H));
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}`;
    const h = rmsNorm(x, T, w(`${p}.input_layernorm.weight`), cfg.normEps);
    const q = lin(h, `${p}.self_attn.q_proj`, nh * hd, cfg.attentionBias), k = lin(h, `${p}.self_attn.k_proj`, nkv * hd, cfg.attentionBias);
    const v = lin(h, `${p}.self_attn.v_proj`, nkv * hd, cfg.attentionBias);
    rope(q, T, nh, hd, inv);
    rope(k, T, nkv, hd, inv);
    const o = lin(attention(q, k, v, T, nh, nkv, hd), `${p}.self_attn.o_proj`, H, cfg.attentionOutBias);
    for (let i = 0; i < x.length; i++) x[i] += o[i];
    const m = rmsNorm(x, T, w(`${p}.post_attention_layernorm.weight`), cfg.normEps);
    const gate = lin(m, `${p}.mlp.gate_proj`, I, cfg.mlpBias), up = lin(m, `${p}.mlp.up_proj`, I, cfg.mlpBias);
    for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i]; // silu(gate) · up
    const down = lin(gate, `${p}.mlp.down_proj`, H, cfg.mlpBias);
    for (let i = 0; i < x.length; i++) x[i] += down[i];
  }
  const head = w(cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  return linear(rmsNorm(x, T, w('model.norm.weight'), cfg.normEps), T, head, V);
}
