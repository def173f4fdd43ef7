// lorakit merge: base + adapter → a plain HF model folder (zero inference overhead).
import { defineCommand } from '../command.js';
import { adapterDirOrRef } from '../adapter-arg.js';
import { existingDir, oneOf } from '../parse.js';

export interface MergeFlags {
  base: string; adapter: string; out: string; dtype: 'F32' | 'BF16' | 'F16' | undefined; overwrite: boolean; allowBaseMismatch: boolean;
  noTrack: boolean; json: boolean;
}

export const mergeCmd = defineCommand<MergeFlags>({
  name: 'merge',
  summary: 'Merge a LoRA adapter into its base and write a complete HF model folder',
  example: 'lorakit merge --base models/tiny-llama --adapter adapters/support-v1 --out models/support-merged',
  flags: {
    base: { arg: '<dir>', help: 'base HF model folder', parse: existingDir, required: true },
    adapter: {
      arg: '<dir|ref>', help: "PEFT adapter folder, or a registry reference ('support@v3', 'support@production')",
      parse: adapterDirOrRef, required: true,
    },
    out: { arg: '<dir>', help: 'output model folder (new, empty, or an earlier merge output)', required: true, short: 'o' },
    dtype: { arg: '<dtype>', help: "weights dtype (default: the base's)", parse: oneOf(['F32', 'BF16', 'F16'] as const) },
    allowBaseMismatch: { help: "merge even if the adapter's base_model_name_or_path names another model (recorded in the output)" },
    overwrite: { help: 'replace a non-empty --out folder merge did not write (never --base or --adapter)', default: false },
    noTrack: { help: 'do not record the run in the experiment tracker (LORAKIT_HOME)', default: false },
    json: { help: 'print a JSON result' },
  },
  async run(f, io) {
    const { loadCheckpoint } = await import('../../models/checkpoint.js');
    const { loadAdapterFor } = await import('../../lora/load.js');
    const { writeMergedModel } = await import('../../lora/merge-folder.js');
    const { openAdapterArg, baseCheckJson, warnBaseCheck } = await import('../adapter-arg.js');
    const { existsSync } = await import('node:fs');
    const { checkOutDir } = await import('../../util/out-dir.js');
    const { failRun, finishRun, startTracking } = await import('../tracking.js');
    const inputs = [{ flag: '--base', path: f.base }, ...(existsSync(f.adapter) ? [{ flag: '--adapter', path: f.adapter }] : [])];
    const out = { verb: 'merge', overwrite: f.overwrite, inputs };
    checkOutDir(f.out, out); // before loading anything
    const base = await loadCheckpoint(f.base, { tokenizer: false });
    const arg = await openAdapterArg(f.adapter, f.base, { io });
    const { noTrack: _noTrack, json: _json, ...config } = f;
    const run = f.noTrack ? null : await startTracking('merge', { ...config, adapterRef: arg.ref }, f.out);
    try {
      const adapter = await loadAdapterFor(base, arg.dir, { allowBaseMismatch: f.allowBaseMismatch });
      warnBaseCheck(io, adapter.baseCheck, f.adapter);
      const r = await writeMergedModel(base, adapter, f.out, f.dtype, out);
      // A QLoRA adapter merged into full-precision weights no longer sees the quantized base it was trained on.
      const trainedOn = adapter.meta?.base_quantization ?? 'none';
      const { mergeDrift } = await import('../../eval/precision.js');
      const drift = trainedOn === 'none' ? null : await mergeDrift(f.base, adapter, trainedOn, r.dir);
      if (drift) {
        io.stderr.write(`warning: adapter '${f.adapter}' was trained on an ${trainedOn} base; merged into full-precision weights its `
          + `last-position logits differ by up to ${(100 * drift.maxRelLogitDiff).toFixed(2)}% (relative, ${drift.probes} probes)\n`);
      }
      run?.setLineage({
        ...(adapter.baseCheck.baseFingerprint ? { baseFingerprint: adapter.baseCheck.baseFingerprint } : {}),
        ...(arg.ref ? { adapterVersion: arg.ref } : {}),
      });
      run?.logMetrics(0, { merged_modules: r.mergedModules, ...(drift ? { qlora_max_rel_logit_diff: drift.maxRelLogitDiff } : {}) });
      run?.logArtifact('model', r.dir, 'model');
      await finishRun(run, { merged_modules: r.mergedModules, dtype: r.dtype, trained_on: trainedOn });
      const result = {
        ...r,
        adapter: arg.ref ?? f.adapter,
        base_check: baseCheckJson(adapter.baseCheck),
        trained_on: trainedOn,
        qlora_drift: drift,
        runId: run?.id ?? null,
      };
      io.done(result, `merged ${r.mergedModules} modules into ${r.dir} (${r.dtype})`);
    } catch (e) {
      await failRun(run)(e);
    } finally { arg.cleanup(); }
  },
});
