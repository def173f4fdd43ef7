// lorakit adapter import: check a PEFT adapter made elsewhere against a base, and copy it in lorakit's layout.
// The base binding (issue 13): lorakit.json gets base_fingerprint only when the base was verified (a recorded
// fingerprint, or base_model_name_or_path matching a name of the base); otherwise it says 'unverified', or
// records a --allow-base-mismatch override for this base, and never a fingerprint that was not checked.
import { defineCommand } from '../command.js';
import { existingDir } from '../parse.js';

export interface AdapterImportFlags {
  base: string;
  out: string | undefined;
  overwrite: boolean;
  allowBaseMismatch: boolean;
  allowOtherBase: boolean;
  json: boolean;
}

export const adapterImport = defineCommand<AdapterImportFlags>({
  name: 'adapter import',
  summary: 'Validate a PEFT adapter against a base model (and optionally copy it)',
  positionals: '<adapter-dir|ref>',
  example: 'lorakit adapter import ./peft-adapter --base models/tiny-llama --out adapters/imported',
  flags: {
    base: { arg: '<dir>', help: 'base HF model folder the adapter is for', parse: existingDir, required: true },
    out: { arg: '<dir>', help: 'write the validated adapter here (PEFT layout + lorakit.json with the base binding)' },
    allowBaseMismatch: { help: 'accept an adapter made for another base (by fingerprint or base_model_name_or_path); recorded in lorakit.json' },
    allowOtherBase: { help: 'old name of --allow-base-mismatch' },
    overwrite: { help: 'replace a non-empty --out folder adapter import did not write (never the adapter or --base)', default: false },
    json: { help: 'print a JSON result' },
  },
  async run(f, io, positionals) {
    const { LorakitError } = await import('../../errors.js');
    const src = positionals[0];
    if (!src) throw new LorakitError('LK_ARG', 'adapter import: give the adapter folder, e.g. lorakit adapter import ./my-adapter --base models/x');
    const { loadCheckpoint } = await import('../../models/checkpoint.js');
    const { loadAdapterFor } = await import('../../lora/load.js');
    const { writeAdapter } = await import('../../lora/peft-io.js');
    const { bindingRecord } = await import('../../lora/binding.js');
    const { trainableParameterCount } = await import('../../lora/adapter.js');
    const { fingerprintModelDir } = await import('../../models/fingerprint.js');
    const { adapterDirOrRef, openAdapterArg, baseCheckJson, warnBaseCheck } = await import('../adapter-arg.js');
    adapterDirOrRef(src, '<adapter-dir|ref>');
    const { existsSync } = await import('node:fs');
    const { checkOutDir } = await import('../../util/out-dir.js');
    const inputs = [...(existsSync(src) ? [{ flag: '<adapter-dir>', path: src }] : []), { flag: '--base', path: f.base }];
    const out = { verb: 'adapter import', overwrite: f.overwrite, inputs };
    if (f.out) checkOutDir(f.out, out); // before loading anything
    const base = await loadCheckpoint(f.base, { tokenizer: false });
    const arg = await openAdapterArg(src, f.base, { io });
    try {
      const a = await loadAdapterFor(base, arg.dir, { allowBaseMismatch: f.allowBaseMismatch || f.allowOtherBase });
      const check = a.baseCheck;
      warnBaseCheck(io, check, src);
      const summary = {
        adapter: arg.ref ?? src, modules: a.sites.length, parameters: trainableParameterCount(a), r: a.config.r, lora_alpha: a.config.lora_alpha,
        target_modules: a.config.target_modules, out: f.out ?? null, base_check: baseCheckJson(check),
      };
      if (f.out) {
        // Drop any recorded binding, then write only what was checked here.
        const { base_fingerprint: trainedOn, base_override: _o, base_binding: _b, ...rest } = a.meta ?? {};
        const fp = check.status === 'unverified' ? undefined : check.baseFingerprint ?? (await fingerprintModelDir(f.base)).fingerprint;
        const override = { fingerprint: fp!, base_model: f.base, allowed_at: new Date().toISOString() };
        const binding = check.verified ? { base_fingerprint: fp, base_model: f.base }
          : check.status === 'mismatch-allowed' ? { base_override: override, ...(trainedOn ? { trained_on_base_fingerprint: trainedOn } : {}) }
            : {};
        writeAdapter(f.out, a, { ...rest, ...binding, base_binding: bindingRecord(check) }, undefined, out);
      }
      const how = check.verified ? '' : ` (${check.status === 'unverified' ? 'base unverified' : 'base mismatch allowed'})`;
      const where = f.out ? `; written to ${f.out}` : '';
      io.done(summary, `adapter fits the base${how}: ${a.sites.length} modules, ${summary.parameters} parameters (r=${a.config.r})${where}`);
    } finally { arg.cleanup(); }
  },
});
