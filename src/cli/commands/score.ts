// lorakit score: perplexity of a text file under a model (+ adapter), with a sliding window.
import { defineCommand } from '../command.js';
import { adapterDirOrRef } from '../adapter-arg.js';
import { existingDir, existingFile, positiveInt } from '../parse.js';
import { type QuantFlags, quantFlags, quantOptions } from '../quant-flags.js';

export interface ScoreFlags extends QuantFlags {
  model: string; adapter: string | undefined; file: string; window: number | undefined; stride: number | undefined; batchSize: number;
  threads: number | undefined; allowBaseMismatch: boolean; json: boolean;
}

export const scoreCmd = defineCommand<ScoreFlags>({
  name: 'score',
  summary: 'Perplexity of a text file (sliding window), tokens and time',
  example: 'lorakit score --model models/tiny-llama --file held-out.txt --json',
  flags: {
    model: { arg: '<dir>', help: 'HF model folder', parse: existingDir, required: true },
    adapter: { arg: '<dir|ref>', help: "PEFT adapter folder to apply, or a registry reference such as 'support@production'", parse: adapterDirOrRef },
    file: { arg: '<file>', help: 'UTF-8 text file', parse: existingFile, required: true },
    window: { arg: '<n>', help: 'tokens per window (default: max_position_embeddings, at most 1024)', parse: positiveInt },
    stride: { arg: '<n>', help: 'new tokens scored per window (default: window / 2)', parse: positiveInt },
    batchSize: { arg: '<n>', help: 'windows per run', default: 4, parse: positiveInt },
    threads: { arg: '<n>', help: 'onnxruntime threads', parse: positiveInt },
    ...quantFlags,
    allowBaseMismatch: { help: "use the adapter even if its base_model_name_or_path names another model (recorded in the output)" },
    json: { help: 'print a JSON result' },
  },
  async run(f, io) {
    const { readFileSync } = await import('node:fs');
    const { loadCheckpoint } = await import('../../models/checkpoint.js');
    const { CausalLM } = await import('../../models/causal-lm.js');
    const { perplexity } = await import('../../models/perplexity.js');
    const { loadAdapterFor } = await import('../../lora/load.js');
    const base = await loadCheckpoint(f.model, { tokenizer: true, quantize: quantOptions(f) });
    const { openAdapterArg, baseCheckJson, warnBaseCheck } = await import('../adapter-arg.js');
    const { precisionMismatch } = await import('../../models/quant/scheme.js');
    const arg = f.adapter ? await openAdapterArg(f.adapter, f.model, { io }) : undefined;
    let adapter: Awaited<ReturnType<typeof loadAdapterFor>> | undefined;
    try {
      adapter = arg ? await loadAdapterFor(base, arg.dir, { allowBaseMismatch: f.allowBaseMismatch }) : undefined;
    } finally { arg?.cleanup(); }
    if (adapter) warnBaseCheck(io, adapter.baseCheck, f.adapter!, precisionMismatch(adapter.meta?.base_quantization, base.quantization));
    const lm = new CausalLM(base.config, base.weights, base.shapes, { threads: f.threads, quant: base.quant });
    const ids = base.tokenizer!.encode(readFileSync(f.file, 'utf8'));
    const window = f.window ?? Math.min(1024, base.config.maxPositionEmbeddings);
    const bar = io.progress({ total: ids.length, label: 'score', unit: 'tok' });
    const t0 = performance.now();
    const r = await perplexity(lm, ids, {
      window,
      stride: f.stride ?? Math.max(1, Math.floor(window / 2)),
      batchSize: f.batchSize,
      adapter: adapter?.binding,
      onProgress: (d) => bar.tick(d),
    });
    bar.finish();
    const seconds = (performance.now() - t0) / 1000;
    const bound = adapter ? { adapter: arg?.ref ?? f.adapter, base_check: baseCheckJson(adapter.baseCheck) } : {};
    const rate = ids.length / seconds;
    io.done({ file: f.file, quantization: base.quantization, perplexity: r.perplexity, nll: r.nll, tokens: ids.length,
      scored_tokens: r.scored, seconds, tokens_per_s: rate, window,
      ...bound },
      `perplexity ${r.perplexity.toFixed(3)} over ${r.scored} tokens (${seconds.toFixed(2)} s, ${(ids.length / seconds).toFixed(0)} tok/s)`);
  },
});
