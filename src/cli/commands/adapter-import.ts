// lorakit adapter import: check a PEFT adapter made elsewhere against a base, and copy it in lorakit's layout.
import { defineCommand } from '../command.js';
import { existingDir } from '../parse.js';

export interface AdapterImportFlags { base: string; out: string | undefined; overwrite: boolean; allowOtherBase: boolean; json: boolean }

export const adapterImport = defineCommand<AdapterImportFlags>({
  name: 'adapter import',
  summary: 'Validate a PEFT adapter against a base model (and optionally copy it)',
  positionals: '<adapter-dir>',
  example: 'lorakit adapter import ./peft-adapter --base models/tiny-llama --out adapters/imported',
  flags: {
    base: { arg: '<dir>', help: 'base HF model folder the adapter is for', parse: existingDir, required: true },
    out: { arg: '<dir>', help: 'write the validated adapter here (PEFT layout + lorakit.json with the base fingerprint)' },
    overwrite: { help: 'replace a non-empty --out folder adapter import did not write (never the adapter or --base)', default: false },
    allowOtherBase: { help: 'accept an adapter whose lorakit.json names another base fingerprint' },
    json: { help: 'print a JSON result' },
  },
  async run(f, io, positionals) {
    const { LorakitError } = await import('../../errors.js');
    const dir = positionals[0];
    if (!dir) throw new LorakitError('LK_ARG', 'adapter import: give the adapter folder, e.g. lorakit adapter import ./my-adapter --base models/x');
    const { loadCheckpoint } = await import('../../models/checkpoint.js');
    const { loadAdapterFor } = await import('../../lora/load.js');
    const { writeAdapter } = await import('../../lora/peft-io.js');
    const { trainableParameterCount } = await import('../../lora/adapter.js');
    const { fingerprintModelDir } = await import('../../models/fingerprint.js');
    const { checkOutDir } = await import('../../util/out-dir.js');
    const out = { verb: 'adapter import', overwrite: f.overwrite, inputs: [{ flag: '<adapter-dir>', path: dir }, { flag: '--base', path: f.base }] };
    if (f.out) checkOutDir(f.out, out); // before loading anything
    const base = await loadCheckpoint(f.base, { tokenizer: false });
    const a = await loadAdapterFor(base, dir, { allowOtherBase: f.allowOtherBase });
    const summary = { adapter: dir, modules: a.sites.length, parameters: trainableParameterCount(a), r: a.config.r, lora_alpha: a.config.lora_alpha, target_modules: a.config.target_modules, out: f.out ?? null };
    if (f.out) {
      const meta = { ...(a.meta ?? {}), base_fingerprint: (await fingerprintModelDir(f.base)).fingerprint, base_model: f.base };
      writeAdapter(f.out, a, meta, undefined, out);
    }
    io.done(summary, `adapter fits the base: ${a.sites.length} modules, ${summary.parameters} parameters (r=${a.config.r})${f.out ? `; written to ${f.out}` : ''}`);
  },
});
