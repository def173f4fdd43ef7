// Writes base + adapter merged into a complete HF model folder (config, safetensors in the base's dtype, tokenizer
// and generation files copied), so it loads anywhere with zero LoRA overhead. Written beside the target and
// renamed into place.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { LorakitError } from '../errors.js';
import type { Checkpoint } from '../models/checkpoint.js';
import { writeSafetensors } from '../models/safetensors-write.js';
import type { Adapter } from './adapter.js';
import { mergeAdapterWeights } from './merge.js';

const COPY = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|chat_template\.jinja|vocab\.json|merges\.txt|tokenizer\.model)$/;

export async function writeMergedModel(base: Checkpoint, adapter: Pick<Adapter, 'sites' | 'tensors'>, outDir: string, dtype?: 'F32' | 'BF16' | 'F16'): Promise<{ dir: string; dtype: string; mergedModules: number }> {
  const target = resolve(outDir);
  if (target === resolve(base.dir)) throw new LorakitError('LK_ARG', `merge: --out must differ from the base folder '${base.dir}'`);
  const merged = await mergeAdapterWeights(base.weights, adapter);
  const outDtype = dtype ?? (base.dtypeOnDisk === 'BF16' || base.dtypeOnDisk === 'F16' ? base.dtypeOnDisk : 'F32');
  mkdirSync(dirname(target), { recursive: true });
  const tmp = join(dirname(target), `.${basename(target)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    for (const f of readdirSync(base.dir)) if (COPY.test(f)) copyFileSync(join(base.dir, f), join(tmp, f));
    const tensors = [...base.weights.keys()].sort().map((name) => ({ name, dtype: outDtype, shape: base.shapes.get(name)!, data: merged.get(name) ?? base.weights.get(name)! }));
    writeSafetensors(join(tmp, 'model.safetensors'), tensors, { format: 'pt' });
    if (existsSync(target)) rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e instanceof LorakitError ? e : new LorakitError('LK_IO', `cannot write merged model to '${target}': ${(e as Error).message}`, { cause: e });
  }
  return { dir: target, dtype: outDtype, mergedModules: merged.size };
}
