// What a config's family spec (families/) implies, derived in one place: every tensor by HF name and shape, the
// linear modules (what LoRA can target; 'all-linear' is every one of them, the output head never being among them,
// as PEFT defines it), the default LoRA targets, the LM head and the names a checkpoint may store tensors under.
import { type LinearSpec, storedShape } from './architecture.js';
import type { ModelConfig } from './config.js';
import { familyOf } from './families/index.js';
import type { TensorEntry } from './families/spec.js';

/** Every tensor, in checkpoint order: before the layers, each layer, after them, then an untied 'lm_head.weight'. */
function walk(cfg: ModelConfig, visit: (prefix: string, e: TensorEntry) => void): void {
  const fam = familyOf(cfg);
  const t = fam.tensors(cfg);
  for (const e of t.before) visit('', e);
  for (let i = 0; i < cfg.numLayers; i++) for (const e of t.layer) visit(`${fam.layerPrefix(i)}.`, e);
  for (const e of t.after) visit('', e);
  if (!cfg.tieWordEmbeddings) visit('', { kind: 'tensor', name: lmHeadName(cfg), shape: [cfg.vocabSize, cfg.hiddenSize] });
}

/** The linear modules by HF path, with their shapes and storage (conv1d = the family's fan_in_fan_out). */
export function linearModules(cfg: ModelConfig): LinearSpec[] {
  const out: LinearSpec[] = [];
  const conv1d = familyOf(cfg).fanInFanOut;
  walk(cfg, (prefix, e) => {
    if (e.kind === 'linear') out.push({ path: `${prefix}${e.name}`, inFeatures: e.inFeatures, outFeatures: e.outFeatures, bias: e.bias, conv1d });
  });
  return out;
}

/**
 * Every tensor the architecture needs, by HF checkpoint name, with its shape. GPT-2 names carry the 'transformer.'
 * prefix (checkpointNames also accepts them without it). Buffers (gpt2 attn.bias/masked_bias, rotary inv_freq) are
 * not listed: loaders ignore them.
 */
export function expectedWeights(cfg: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const conv1d = familyOf(cfg).fanInFanOut;
  walk(cfg, (prefix, e) => {
    if (e.kind === 'tensor') { m.set(`${prefix}${e.name}`, [...e.shape]); return; }
    m.set(`${prefix}${e.name}.weight`, storedShape({ ...e, conv1d }));
    if (e.bias) m.set(`${prefix}${e.name}.bias`, [e.outFeatures]);
  });
  return m;
}

/** Parameter count implied by the config (tied embeddings counted once). */
export function expectedParameterCount(cfg: ModelConfig): number {
  let n = 0;
  for (const s of expectedWeights(cfg).values()) n += s.reduce((a, b) => a * b, 1);
  return n;
}

/** PEFT's default target_modules when the user gives none. */
export function defaultLoraTargets(cfg: ModelConfig): string[] {
  return [...familyOf(cfg).defaultLoraTargets];
}

/** PEFT's fan_in_fan_out for adapters of this base: its linear weights are stored (in, out). */
export function fanInFanOut(cfg: ModelConfig): boolean {
  return familyOf(cfg).fanInFanOut;
}

/** The input token embedding. */
export function embeddingName(cfg: ModelConfig): string {
  return familyOf(cfg).embedding;
}

/** The output projection weight: the input embedding when tie_word_embeddings, else 'lm_head.weight'. */
export function lmHeadName(cfg: ModelConfig): string {
  return cfg.tieWordEmbeddings ? familyOf(cfg).embedding : 'lm_head.weight';
}

/** Names a checkpoint may store the tensor `name` under, in the order to try. */
export function checkpointNames(cfg: ModelConfig, name: string): string[] {
  const p = familyOf(cfg).optionalPrefix;
  return p && name.startsWith(p) ? [name, name.slice(p.length)] : [name];
}
