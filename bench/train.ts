// Training benchmark: LoRA r=16 on the ~25M Llama-shaped reference at batch 4 × seq 256, on q,v and on all linear
// layers, tokens/s and peak RSS per configuration (each in its own process), with PyTorch side by side.
import { spawnSync } from 'node:child_process';
import type { BenchArea } from './types.js';
import { torchReference } from './reference-model.js';

export const bench: BenchArea = async () => {
  const rows: Record<string, string | number | null>[] = [];
  // Each targets setting without and with gradient checkpointing (the cost of --gradient-checkpointing).
  for (const [t, ckpt] of [['qv', false], ['qv', true], ['all', false], ['all', true]] as const) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/train-child.ts', t, ...(ckpt ? ['ckpt'] : [])], { encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) throw new Error(`bench/train-child.ts ${t}${ckpt ? ' ckpt' : ''} failed: ${r.stderr}`);
    const ours = JSON.parse(r.stdout.trim().split('\n').pop()!) as { tokens_per_s: number; step_ms: number; adamw_ms: number; trainable: number; peak_rss_mb: number };
    const ref = ckpt ? null : torchReference('train', t);
    rows.push({
      targets: t === 'qv' ? 'q_proj,v_proj' : 'all-linear', checkpointing: ckpt ? 'yes' : 'no', trainable: ours.trainable, tokens_per_s: ours.tokens_per_s, step_ms: ours.step_ms,
      adamw_ms: ours.adamw_ms, peak_rss_mb: ours.peak_rss_mb, torch_tokens_per_s: ref?.tokens_per_s ?? null, torch_peak_rss_mb: ref?.peak_rss_mb ?? null,
    });
  }
  return [{ title: 'LoRA training, r=16, batch 4 × seq 256, ~25M Llama-shaped model, AdamW', rows, notes: [
    'FORMATS.md reference on this machine kind: ≈ 670 tok/s (q,v) and ≈ 560 (all linear), peak RSS 1.7 / 2.1 GB (PyTorch 1.13, 2 BLAS threads).',
    'torch_*: scripts/bench/torch_reference.py run now, side by side (null when PyTorch is absent or for checkpointing rows).',
    'checkpointing: --gradient-checkpointing (each layer recomputed in the backward pass: about one more forward of compute, only layer inputs kept).',
  ] }];
};
