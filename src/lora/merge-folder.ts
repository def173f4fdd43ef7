// Writes base + adapter merged into a complete HF model folder (config, safetensors in the base's dtype, tokenizer
// and generation files copied), so it loads anywhere with zero LoRA overhead. Written beside the target and
// renamed into place, under the --out rule of util/out-dir.ts (never over the base, the adapter or a user folder).
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { LorakitError } from '../errors.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { writeSafetensors } from '../models/safetensors-write.js';
import { beginOutDir, checkOutDir, type OutDirOptions } from '../util/out-dir.js';
import type { Adapter } from './adapter.js';
import { mergeAdapterWeights } from './merge.js';

const COPY = new Set([
  'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json',
  'chat_template.jinja', 'vocab.json', 'merges.txt', 'tokenizer.model',
]);

/** `out` is the --out rule of util/out-dir.ts; the base and `inputs` (e.g. the adapter folder) are always protected. */
export async function writeMergedModel(base: Checkpoint, adapter: Pick<Adapter, 'sites' | 'tensors'>, outDir: string, dtype?: 'F32' | 'BF16' | 'F16',
  out: OutDirOptions = { verb: 'merge' }): Promise<{ dir: string; dtype: string; mergedModules: number }> {
  const guard: OutDirOptions = { ...out, inputs: [{ flag: '--base', path: base.dir }, ...(out.inputs ?? [])] };
  checkOutDir(outDir, guard); // before the merge: refuse early
  const merged = await mergeAdapterWeights(base.weights, adapter);
  const outDtype = dtype ?? (base.dtypeOnDisk === 'BF16' || base.dtypeOnDisk === 'F16' ? base.dtypeOnDisk : 'F32');
  const w = beginOutDir(outDir, guard);
  try {
    for (const f of readdirSync(base.dir)) if (COPY.has(f)) copyFileSync(join(base.dir, f), join(w.tmp, f));
    const tensors = [...base.weights.keys()].sort()
      .map((name) => ({ name, dtype: outDtype, shape: base.shapes.get(name)!, data: merged.get(name) ?? base.weights.get(name)! }));
    writeSafetensors(join(w.tmp, 'model.safetensors'), tensors, { format: 'pt' });
  } catch (e) {
    w.abort();
    if (e instanceof LorakitError) throw e;
    throw new LorakitError('LK_IO', `cannot write merged model to '${w.target}': ${(e as Error).message}`, { cause: e });
  }
  w.commit();
  return { dir: w.target, dtype: outDtype, mergedModules: merged.size };
}
