// lorakit merge: base + adapter → a plain HF model folder (zero inference overhead).
import { defineCommand } from '../command.js';
import { existingDir, oneOf } from '../parse.js';

export interface MergeFlags { base: string; adapter: string; out: string; dtype: 'F32' | 'BF16' | 'F16' | undefined; json: boolean }

export const mergeCmd = defineCommand<MergeFlags>({
  name: 'merge',
  summary: 'Merge a LoRA adapter into its base and write a complete HF model folder',
  example: 'lorakit merge --base models/tiny-llama --adapter adapters/support-v1 --out models/support-merged',
  flags: {
    base: { arg: '<dir>', help: 'base HF model folder', parse: existingDir, required: true },
    adapter: { arg: '<dir>', help: 'PEFT adapter folder', parse: existingDir, required: true },
    out: { arg: '<dir>', help: 'output model folder', required: true, short: 'o' },
    dtype: { arg: '<dtype>', help: "weights dtype (default: the base's)", parse: oneOf(['F32', 'BF16', 'F16'] as const) },
    json: { help: 'print a JSON result' },
  },
  async run(f, io) {
    const { loadCheckpoint } = await import('../../models/checkpoint.js');
    const { loadAdapterFor } = await import('../../lora/load.js');
    const { writeMergedModel } = await import('../../lora/merge-folder.js');
    const base = await loadCheckpoint(f.base, { tokenizer: false });
    const adapter = await loadAdapterFor(base, f.adapter);
    const r = await writeMergedModel(base, adapter, f.out, f.dtype);
    io.done(r, `merged ${r.mergedModules} modules into ${r.dir} (${r.dtype})`);
  },
});
