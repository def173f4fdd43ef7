// Llama-family decoder (LlamaForCausalLM; also Mistral and Qwen2, which differ only in config: GQA, q/k/v bias,
// sliding window). HF parameter names throughout, so checkpoint keys and PEFT target_modules match 1:1; shapes,
// biases and names of the layer list come from the spec (families/llama.ts).
import { type Sym, add, applyRotary, attention, mergeHeads, rmsNorm, rotaryTables, mul, splitHeads, activation } from '../engine/index.js';
import type { CausalLMInputs, CausalLMOutputs, ModelContext } from './architecture.js';
import type { ModelConfig } from './config.js';
import { llama } from './families/llama.js';
import { decoderCache } from './kv-cache.js';
import { ropeInvFreq } from './rope.js';

export function llamaForward(cfg: ModelConfig, ctx: ModelContext, io: CausalLMInputs): CausalLMOutputs {
  const g = io.inputIds.graph;
  const nh = cfg.numHeads, nkv = cfg.numKvHeads, hd = cfg.headDim;
  const act = activation(cfg.hiddenAct);

  let x = ctx.embed(llama.embedding, io.inputIds); // (B, T, H)
  const { cos, sin } = rotaryTables(io.positionIds, g.constant(ropeInvFreq(cfg), [hd / 2])); // (B, 1, T, hd)
  const cache = decoderCache(io, cfg.slidingWindow ?? undefined);

  // Each layer is one graph segment: the unit that gradient checkpointing recomputes in the backward pass.
  const layer = (i: number, x: Sym): Sym => {
    const p = llama.layerPrefix(i);
    const h = rmsNorm(x, ctx.weight(`${p}.input_layernorm.weight`), cfg.normEps);
    const q = applyRotary(splitHeads(ctx.linear(`${p}.self_attn.q_proj`, h), nh, hd), cos, sin); // (B, nh, T, hd)
    const k = applyRotary(splitHeads(ctx.linear(`${p}.self_attn.k_proj`, h), nkv, hd), cos, sin); // (B, nkv, T, hd)
    const kv = cache.extend(i, k, splitHeads(ctx.linear(`${p}.self_attn.v_proj`, h), nkv, hd)); // (B, nkv, P+T, hd)
    const attn = mergeHeads(attention(q, kv.key, kv.value, cache.bias)); // (B, T, nh·hd)
    const x1 = add(x, ctx.linear(`${p}.self_attn.o_proj`, attn));
    const m = rmsNorm(x1, ctx.weight(`${p}.post_attention_layernorm.weight`), cfg.normEps);
    const gated = mul(act(ctx.linear(`${p}.mlp.gate_proj`, m)), ctx.linear(`${p}.mlp.up_proj`, m)); // (B, T, I)
    return add(x1, ctx.linear(`${p}.mlp.down_proj`, gated));
  };
  for (let i = 0; i < cfg.numLayers; i++) x = g.segment(x, (xi) => layer(i, xi));
  return { hidden: rmsNorm(x, ctx.weight('model.norm.weight'), cfg.normEps), present: cache.present() };
}
