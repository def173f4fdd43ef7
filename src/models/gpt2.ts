// GPT-2 (GPT2LMHeadModel): learned positions, pre-LayerNorm blocks, Conv1D projections stored (in, out), fused
// c_attn producing q, k, v. Checkpoint names are used with the 'transformer.' prefix.
import { type Sym, add, attention, attentionBias, concat, layerNorm, mergeHeads, split, splitHeads, activation } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import type { CausalLMInputs, CausalLMOutputs, ModelContext } from './architecture.js';
import type { ModelConfig } from './config.js';

export function gpt2Forward(cfg: ModelConfig, ctx: ModelContext, io: CausalLMInputs): CausalLMOutputs {
  const g = io.inputIds.graph;
  const H = cfg.hiddenSize, nh = cfg.numHeads, hd = cfg.headDim;
  const act = activation(cfg.hiddenAct);
  if (!act) throw new LorakitError('LK_CONFIG', `activation_function '${cfg.hiddenAct}' is not supported for gpt2`);
  const lin = (path: string, x: Sym, inF: number, outF: number): Sym => ctx.linear({ path, inFeatures: inF, outFeatures: outF, bias: true, conv1d: true }, x);
  const ln = (path: string, x: Sym): Sym => layerNorm(x, ctx.weight(`${path}.weight`), ctx.weight(`${path}.bias`), cfg.normEps);

  let x = add(ctx.embed('transformer.wte.weight', io.inputIds), ctx.embed('transformer.wpe.weight', io.positionIds)); // (B, T, H)
  const past0 = io.past?.[0]?.key;
  const pastLen = past0 ? g.node('Gather', [g.node('Shape', [past0], {}, [{ dtype: 'int64', shape: [4] }])[0], g.scalar(2, 'int64')], { axis: 0 }, [{ dtype: 'int64', shape: [] }])[0] : g.scalar(0, 'int64');
  const bias = attentionBias({ queryLen: io.inputIds.shape[1], keyLen: io.attentionMask.shape[1], past: pastLen, keyMask: io.attentionMask, segments: io.segmentIds });
  const present: { key: Sym; value: Sym }[] = [];
  const block = (i: number, x: Sym): Sym => { // one graph segment per block (gradient checkpointing's unit)
    const p = `transformer.h.${i}`;
    const qkv = lin(`${p}.attn.c_attn`, ln(`${p}.ln_1`, x), H, 3 * H); // (B, T, 3H)
    const [qf, kf, vf] = split(qkv, -1, [H, H, H]);
    const q = splitHeads(qf, nh, hd); // (B, nh, T, hd)
    let k = splitHeads(kf, nh, hd), v = splitHeads(vf, nh, hd);
    const past = io.past?.[i];
    if (past) {
      k = concat([past.key, k], 2);
      v = concat([past.value, v], 2);
      present.push({ key: k, value: v });
    }
    const x1 = add(x, lin(`${p}.attn.c_proj`, mergeHeads(attention(q, k, v, bias)), H, H));
    return add(x1, lin(`${p}.mlp.c_proj`, act(lin(`${p}.mlp.c_fc`, ln(`${p}.ln_2`, x1), H, cfg.intermediateSize)), cfg.intermediateSize, H));
  };
  for (let i = 0; i < cfg.numLayers; i++) x = g.segment(x, (xi) => block(i, xi));
  return { hidden: ln('transformer.ln_f', x), present: io.past ? present : undefined };
}

export function gpt2LmHead(cfg: ModelConfig): string {
  return cfg.tieWordEmbeddings ? 'transformer.wte.weight' : 'lm_head.weight';
}
