// Training benchmark: LoRA r=16 on the Llama-shaped 29.5M reference at batch 4 × seq 256, on q,v and on all linear
// layers: tokens/s and peak RSS per configuration, each run in its own process, PyTorch side by side. lorakit and
// PyTorch alternate for several rounds; each figure is the median over rounds of a run's median step.
import { spawnSync } from 'node:child_process';
import type { BenchArea, BenchCell } from './types.js';
import { modelLabel, torchRun, torchSetup, type TorchRun } from './reference-model.js';
import { interleave, medianOf, rounds } from './stats.js';

interface ChildRun { tokens_per_s: number; step_ms: number; adamw_ms: number; trainable: number; parameters: number; peak_rss_mb: number }

function child(t: string, ckpt: boolean): ChildRun {
  const args = ['--import', 'tsx', 'bench/train-child.ts', t, ...(ckpt ? ['ckpt'] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) throw new Error(`bench/train-child.ts ${t}${ckpt ? ' ckpt' : ''} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildRun;
}

export const bench: BenchArea = async () => {
  const torch = torchSetup();
  const R = rounds();
  const rows: Record<string, BenchCell>[] = [];
  let model = '';
  // Each targets setting without and with gradient checkpointing (the cost of --gradient-checkpointing), interleaved with PyTorch.
  for (const t of ['qv', 'all']) {
    const runs = await interleave<ChildRun | TorchRun>(R, [
      async () => child(t, false),
      async () => child(t, true),
      async () => torchRun('train', t),
    ]);
    const [ours, ckpt, ref] = runs as [ChildRun[], ChildRun[], TorchRun[]];
    model = modelLabel('llama-shaped', ours[0].parameters);
    rows.push({
      model, targets: t === 'qv' ? 'q_proj,v_proj' : 'all-linear', trainable: ours[0].trainable,
      tokens_per_s: medianOf(ours, (x) => x.tokens_per_s), step_ms: medianOf(ours, (x) => x.step_ms), adamw_ms: medianOf(ours, (x) => x.adamw_ms),
      peak_rss_mb: medianOf(ours, (x) => x.peak_rss_mb),
      torch_tokens_per_s: medianOf(ref, (x) => x.tokens_per_s), torch_peak_rss_mb: medianOf(ref, (x) => x.peak_rss_mb),
      ckpt_tokens_per_s: medianOf(ckpt, (x) => x.tokens_per_s), ckpt_peak_rss_mb: medianOf(ckpt, (x) => x.peak_rss_mb),
    });
  }
  return [{
    title: `LoRA training, r=16, batch 4 × seq 256, ${model} (hidden 512, 8 layers, tied), AdamW; median of ${R} interleaved rounds`,
    rows,
    notes: [
      torch.note,
      'ckpt_*: the same run with --gradient-checkpointing (each layer recomputed in the backward pass).',
      'torch_*: scripts/bench/torch_reference.py train, one process per round, alternating with bench/train-child.ts.',
    ],
  }];
};
