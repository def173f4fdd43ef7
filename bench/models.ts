// Model benchmarks: prefill and decode throughput of the Llama-shaped 29.5M reference at batch 1 and 8, PyTorch side
// by side, and decode against its memory-bandwidth bound: weight bytes per decode step / read bandwidth measured by
// bench/bandwidth.ts with the decode's own thread count. Every figure is the median of interleaved rounds (lorakit,
// baked lorakit, the bandwidth probe and PyTorch take turns in each round).
import { generate } from '../src/models/generate.js';
import { CausalLM } from '../src/models/causal-lm.js';
import { defaultThreads } from '../src/engine/index.js';
import type { BenchArea, BenchCell, BenchTable } from './types.js';
import { modelLabel, referenceModel, torchRun, torchSetup } from './reference-model.js';
import { readProbe } from './bandwidth.js';
import { interleave, median, rounds } from './stats.js';

const medianOrNull = (xs: readonly number[]): number | null => (xs.length ? median(xs) : null);

export const bench: BenchArea = async () => {
  const threads = defaultThreads(); // what referenceModel()'s sessions use
  const lm = referenceModel(threads);
  const baked = new CausalLM(lm.config, lm.weights, lm.shapes, { bakeDecodeWeights: true, threads });
  const params = lm.parameterCount;
  const model = modelLabel('llama-shaped', params);
  const torch = torchSetup();
  const R = rounds();
  const probe = await readProbe(threads);
  const rows: Record<string, BenchCell>[] = [];
  // Prefill: one pass over 256 tokens (batch 1) and 8 × 256.
  for (const B of [1, 8]) {
    const seqs = Array.from({ length: B }, (_, b) => Array.from({ length: 256 }, (_, t) => (t * 31 + b * 7) % 8192));
    await lm.score(seqs); // warm-up: graph compiled
    const [ours, ref] = await interleave(R, [
      async () => { const t0 = performance.now(); await lm.score(seqs); return (B * 256) / ((performance.now() - t0) / 1000); },
      async () => torchRun('prefill', String(B))?.tokens_per_s ?? null,
    ]);
    rows.push({ model, phase: 'prefill', batch: B, tokens_per_s: median(ours), torch_tokens_per_s: medianOrNull(ref),
      read_GB_s: null, bound_tok_s: null, pct_of_bound: null });
  }
  // Decode: 32-token prompts, 64 new tokens, greedy, no EOS. Each step reads every weight once.
  const weightBytes = params * 4;
  for (const B of [1, 8]) {
    const prompts = Array.from({ length: B }, (_, b) => Array.from({ length: 32 }, (_, t) => (t * 17 + b) % 8192));
    const decode = (m: CausalLM) => async (): Promise<number> => {
      const r = await generate(m, prompts, { maxNewTokens: 64, eosTokenIds: [] });
      return (B * r.decodeSteps) / (r.decodeMs / 1000);
    };
    for (const m of [lm, baked]) await generate(m, prompts, { maxNewTokens: 4, eosTokenIds: [] }); // warm-up
    const [ours, oursBaked, bw, ref] = await interleave(R, [
      decode(lm), decode(baked), () => probe.sample(), async () => torchRun('decode', String(B))?.tokens_per_s ?? null,
    ]);
    const readGBs = median(bw);
    const bound = (B * readGBs * 1e9) / weightBytes;
    const row = (phase: string, tps: number, torchTps: number | null): Record<string, BenchCell> =>
      ({ model, phase, batch: B, tokens_per_s: tps, torch_tokens_per_s: torchTps, read_GB_s: readGBs, bound_tok_s: bound,
        pct_of_bound: (100 * tps) / bound });
    rows.push(row('decode', median(ours), medianOrNull(ref)), row('decode (weights baked)', median(oursBaked), null));
  }
  await probe.dispose();
  const table: BenchTable = {
    title: `${model} (hidden 512, 8 layers, vocab 8192, tied), float32, ${threads} threads; median of ${R} interleaved rounds`,
    rows,
    notes: [
      `read_GB_s: onnxruntime ReduceSum over a ${probe.bytes >> 20} MiB float32 input with ${threads} intra-op threads (bench/bandwidth.ts), `
        + `sampled in the same rounds; bound_tok_s = batch × read bandwidth / ${(weightBytes / 1e6).toFixed(0)} MB of float32 weights per step.`,
      torch.note,
      'torch_tokens_per_s: scripts/bench/torch_reference.py, one process per round, the same model and shapes (eager PyTorch).',
    ],
  };
  return [table];
};
