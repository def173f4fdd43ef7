// Llama-family decoder (LlamaForCausalLM; also Mistral and Qwen2, which differ only in config: GQA, q/k/v bias,
// sliding window). HF parameter names throughout, so checkpoint keys and PEFT target_modules match 1:1.
import { type Sym, add, applyRotary, attention, attentionBias, concat, mergeHeads, rmsNorm, rotaryTables, mul, splitHeads, activation } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import type { CausalLMInputs, CausalLMOutputs, ModelContext } from './architecture.js';
import type { ModelConfig } from './config.js';
import { ropeInvFreq } from './rope.js';

export function llamaForward(cfg: ModelConfig, ctx: ModelContext, io: CausalLMInputs): CausalLMOutputs {
  const g = io.inputIds.graph;
  const H = cfg.hiddenSize, nh = cfg.numHeads, nkv = cfg.numKvHeads, hd = cfg.headDim;
  const act = activation(cfg.hiddenAct);
  if (!act) throw new LorakitError('LK_CONFIG', `hidden_act '${cfg.hiddenAct}' is not supported for ${cfg.modelType}`);
  const qkvBias = cfg.attentionBias;
  const lin = (path: string, x: Sym, inF: number, outF: number, bias: boolean): Sym => ctx.linear({ path, inFeatures: inF, outFeatures: outF, bias, conv1d: false }, x);

  let x = ctx.embed('model.embed_tokens.weight', io.inputIds); // (B, T, H)
  const { cos, sin } = rotaryTables(io.positionIds, g.constant(ropeInvFreq(cfg), [hd / 2])); // (B, 1, T, hd)
  const past0 = io.past?.[0]?.key;
  const pastLen = past0 ? g.node('Gather', [g.node('Shape', [past0], {}, [{ dtype: 'int64', shape: [4] }])[0], g.scalar(2, 'int64')], { axis: 0 }, [{ dtype: 'int64', shape: [] }])[0] : g.scalar(0, 'int64');
  const T = io.inputIds.shape[1];
  const S = io.attentionMask.shape[1];
  const bias = attentionBias({ queryLen: T, keyLen: S, past: pastLen, keyMask: io.attentionMask, segments: io.segmentIds, slidingWindow: cfg.slidingWindow ?? undefined }); // (B, 1, T, S)
  const present: { key: Sym; value: Sym }[] = [];

  // Each layer is one graph segment: the unit that gradient checkpointing recomputes in the backward pass.
  const layer = (i: number, x: Sym): Sym => {
    const p = `model.layers.${i}`;
    const h = rmsNorm(x, ctx.weight(`${p}.input_layernorm.weight`), cfg.normEps);
    const q = applyRotary(splitHeads(lin(`${p}.self_attn.q_proj`, h, H, nh * hd, qkvBias), nh, hd), cos, sin); // (B, nh, T, hd)
    let k = applyRotary(splitHeads(lin(`${p}.self_attn.k_proj`, h, H, nkv * hd, qkvBias), nkv, hd), cos, sin); // (B, nkv, T, hd)
    let v = splitHeads(lin(`${p}.self_attn.v_proj`, h, H, nkv * hd, qkvBias), nkv, hd);
    const past = io.past?.[i];
    if (past) {
      k = concat([past.key, k], 2); // (B, nkv, P+T, hd)
      v = concat([past.value, v], 2);
      present.push({ key: k, value: v });
    }
    const attn = mergeHeads(attention(q, k, v, bias)); // (B, T, nh·hd)
    const x1 = add(x, lin(`${p}.self_attn.o_proj`, attn, nh * hd, H, cfg.attentionOutBias));
    const m = rmsNorm(x1, ctx.weight(`${p}.post_attention_layernorm.weight`), cfg.normEps);
    const gated = mul(act(lin(`${p}.mlp.gate_proj`, m, H, cfg.intermediateSize, cfg.mlpBias)), lin(`${p}.mlp.up_proj`, m, H, cfg.intermediateSize, cfg.mlpBias)); // (B, T, I)
    return add(x1, lin(`${p}.mlp.down_proj`, gated, cfg.intermediateSize, H, cfg.mlpBias));
  };
  for (let i = 0; i < cfg.numLayers; i++) x = g.segment(x, (xi) => layer(i, xi));
  return { hidden: rmsNorm(x, ctx.weight('model.norm.weight'), cfg.normEps), present: io.past ? present : undefined };
}

/** Name of the output projection weight (tied to the input embedding when tie_word_embeddings). */
export function llamaLmHead(cfg: ModelConfig): string {
  return cfg.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
}
