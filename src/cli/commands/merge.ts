// lorakit merge: base + adapter → a plain HF model folder (zero inference overhead).
import { defineCommand } from '../command.js';
import { existingDir, oneOf } from '../parse.js';

export interface MergeFlags {
  base: string; adapter: string; out: string; dtype: 'F32' | 'BF16' | 'F16' | undefined; overwrite: boolean; json: boolean;
}

export const mergeCmd = defineCommand<MergeFlags>({
  name: 'merge',
  summary: 'Merge a LoRA adapter into its base and write a complete HF model folder',
  example: 'lorakit merge --base models/tiny-llama --adapter adapters/support-v1 --out models/support-merged',
  flags: {
    base: { arg: '<dir>', help: 'base HF model folder', parse: existingDir, required: true },
    adapter: { arg: '<dir>', help: 'PEFT adapter folder', parse: existingDir, required: true },
    out: { arg: '<dir>', help: 'output model folder (new, empty, or an earlier merge output)', required: true, short: 'o' },
    dtype: { arg: '<dtype>', help: "weights dtype (default: the base's)", parse: oneOf(['F32', 'BF16', 'F16'] as const) },
    overwrite: { help: 'replace a non-empty --out folder merge did not write (never --base or --adapter)', default: false },
    json: { help: 'print a JSON result' },
  },
  async run(f, io) {
    const { loadCheckpoint } = await import('../../models/checkpoint.js');
    const { loadAdapterFor } = await import('../../lora/load.js');
    const { writeMergedModel } = await import('../../lora/merge-folder.js');
    const { checkOutDir } = await import('../../util/out-dir.js');
    const out = { verb: 'merge', overwrite: f.overwrite, inputs: [{ flag: '--base', path: f.base }, { flag: '--adapter', path: f.adapter }] };
    checkOutDir(f.out, out); // before loading anything
    const base = await loadCheckpoint(f.base, { tokenizer: false });
    const adapter = await loadAdapterFor(base, f.adapter);
    const r = await writeMergedModel(base, adapter, f.out, f.dtype, out);
    io.done(r, `merged ${r.mergedModules} modules into ${r.dir} (${r.dtype})`);
  },
});
