// GPT-2 (GPT2LMHeadModel): learned positions, pre-LayerNorm blocks, Conv1D projections stored (in, out), fused
// c_attn producing q, k, v. Shapes, biases and names of the layer list come from the spec (families/gpt2.ts).
import { type Sym, add, attention, layerNorm, mergeHeads, split, splitHeads, activation } from '../engine/index.js';
import type { CausalLMInputs, CausalLMOutputs, ModelContext } from './architecture.js';
import type { ModelConfig } from './config.js';
import { gpt2 } from './families/gpt2.js';
import { decoderCache } from './kv-cache.js';

export function gpt2Forward(cfg: ModelConfig, ctx: ModelContext, io: CausalLMInputs): CausalLMOutputs {
  const g = io.inputIds.graph;
  const H = cfg.hiddenSize, nh = cfg.numHeads, hd = cfg.headDim;
  const act = activation(cfg.hiddenAct);
  const ln = (path: string, x: Sym): Sym => layerNorm(x, ctx.weight(`${path}.weight`), ctx.weight(`${path}.bias`), cfg.normEps);

  let x = add(ctx.embed(gpt2.embedding, io.inputIds), ctx.embed('transformer.wpe.weight', io.positionIds)); // (B, T, H)
  const cache = decoderCache(io);
  const block = (i: number, x: Sym): Sym => { // one graph segment per block (gradient checkpointing's unit)
    const p = gpt2.layerPrefix(i);
    const qkv = ctx.linear(`${p}.attn.c_attn`, ln(`${p}.ln_1`, x)); // (B, T, 3H)
    const [qf, kf, vf] = split(qkv, -1, [H, H, H]);
    const q = splitHeads(qf, nh, hd); // (B, nh, T, hd)
    const kv = cache.extend(i, splitHeads(kf, nh, hd), splitHeads(vf, nh, hd)); // (B, nh, P+T, hd)
    const x1 = add(x, ctx.linear(`${p}.attn.c_proj`, mergeHeads(attention(q, kv.key, kv.value, cache.bias))));
    return add(x1, ctx.linear(`${p}.mlp.c_proj`, act(ctx.linear(`${p}.mlp.c_fc`, ln(`${p}.ln_2`, x1)))));
  };
  for (let i = 0; i < cfg.numLayers; i++) x = g.segment(x, (xi) => block(i, xi));
  return { hidden: ln('transformer.ln_f', x), present: cache.present() };
}
