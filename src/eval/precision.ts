// The other precision of a QLoRA adapter: a parity path that runs the adapter on the base at the precision it was
// trained on, when that differs from the base being evaluated (trained on int4, served on float, or the reverse).
// Its drift from the reference is measured and reported ('measured'), not gated: it is what a user who changes
// precision gets, and the figure PEFT users otherwise discover in production.
import type { Adapter } from '../lora/adapter.js';
import { bindAdapter } from '../lora/adapter.js';
import { CausalLM } from '../models/causal-lm.js';
import { type Checkpoint, loadCheckpoint } from '../models/checkpoint.js';
import { parseQuantLabel, precisionMismatch } from '../models/quant/scheme.js';
import { Rng } from '../util/rng.js';
import { decodePath, type ParityPath, prefillLogits } from './parity.js';

/** The parity path at the adapter's training precision, or null when it matches `base` (or cannot be rebuilt). */
export async function trainedPrecisionPath(
  base: Checkpoint,
  adapter: Adapter & { readonly meta?: { readonly base_quantization?: string } },
  threads?: number,
): Promise<ParityPath | null> {
  const trained = adapter.meta?.base_quantization ?? 'none';
  const why = precisionMismatch(trained, base.quantization);
  const quantize = parseQuantLabel(trained);
  if (!why || !quantize) return null;
  const other = await loadCheckpoint(base.dir, { tokenizer: false, quantize });
  const lm = new CausalLM(other.config, other.weights, other.shapes, { threads, quant: other.quant });
  const p = decodePath('trained-precision', `the adapter on the base at its training precision (${trained})`, lm, bindAdapter(adapter));
  return { ...p, expectDrift: `adapter ${why}` };
}

/**
 * `lorakit merge` of a QLoRA adapter writes full-precision weights: the drift between what training saw (the
 * quantized base + adapter) and the merged model, as the largest relative difference of last-position logits over a
 * few fixed probes (deterministic token ids: no tokenizer needed).
 */
export async function mergeDrift(
  baseDir: string, adapter: Adapter, trainedOn: string, mergedDir: string, threads?: number,
): Promise<{ maxRelLogitDiff: number; probes: number } | null> {
  const quantize = parseQuantLabel(trainedOn);
  if (!quantize || quantize.quantize === 'none') return null;
  const q = await loadCheckpoint(baseDir, { tokenizer: false, quantize });
  const merged = await loadCheckpoint(mergedDir, { tokenizer: false });
  const qlm = new CausalLM(q.config, q.weights, q.shapes, { threads, quant: q.quant });
  const mlm = new CausalLM(merged.config, merged.weights, merged.shapes, { threads });
  const binding = bindAdapter(adapter);
  const rng = new Rng(1234);
  let worst = 0;
  const probes = 4;
  for (let p = 0; p < probes; p++) {
    const ids = Array.from({ length: 16 }, () => Math.floor(rng.next() * q.config.vocabSize));
    const a = await prefillLogits(qlm, ids, binding), b = await prefillLogits(mlm, ids);
    let d = 0, scale = 0;
    for (let v = 0; v < a.length; v++) { d = Math.max(d, Math.abs(a[v] - b[v])); scale = Math.max(scale, Math.abs(a[v])); }
    worst = Math.max(worst, d / Math.max(scale, 1e-12));
  }
  return { maxRelLogitDiff: worst, probes };
}
