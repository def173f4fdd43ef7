// The Llama-shaped 29.5M reference model (hidden 512, 8 layers, 8 heads, intermediate 1376, vocab 8192, tied
// embeddings) with random weights, built in memory for the model and training benchmarks; the same model as
// scripts/bench/torch_reference.py, which gives the PyTorch column (torchSetup / torchRun below).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CausalLM } from '../src/models/causal-lm.js';
import { expectedWeights, normalizeConfig } from '../src/models/config.js';
import { Rng } from '../src/util/rng.js';

export function referenceModel(threads?: number): CausalLM {
  const cfg = normalizeConfig({
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    vocab_size: 8192,
    hidden_size: 512,
    num_hidden_layers: 8,
    num_attention_heads: 8,
    num_key_value_heads: 8,
    intermediate_size: 1376,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    hidden_act: 'silu',
    tie_word_embeddings: true,
  } as never);
  const shapes = expectedWeights(cfg);
  const rng = new Rng(0);
  const weights = new Map<string, Float32Array>();
  for (const [n, s] of shapes) {
    const size = s.reduce((a, b) => a * b, 1);
    weights.set(n, /norm/.test(n) ? new Float32Array(size).fill(1) : Float32Array.from({ length: size }, () => rng.normal() * 0.02));
  }
  return new CausalLM(cfg, weights, shapes, { threads });
}

export interface TorchRun { readonly tokens_per_s: number; readonly peak_rss_mb: number }

/**
 * Whether the PyTorch column can be measured, and the line a table prints about it: which BLAS torch's sgemm_
 * comes from, its threads and the run's OPENBLAS_* variables, or why there is no column (not installed, or the
 * reference netlib BLAS, which torch_reference.py refuses to report).
 */
export interface TorchSetup { readonly usable: boolean; readonly note: string }

const INSTALL = 'apt-get install -y python3-torch libopenblas0-pthread';
let setup: TorchSetup | undefined;

export function torchSetup(): TorchSetup {
  if (setup) return setup;
  if (!existsSync('/usr/bin/python3')) return (setup = { usable: false, note: `PyTorch column: not measured, no /usr/bin/python3 (${INSTALL})` });
  const r = spawnSync('/usr/bin/python3', ['scripts/bench/torch_reference.py', 'info', '--json'], { encoding: 'utf8', timeout: 120_000 });
  let info: { summary?: string; refused?: string } = {};
  try {
    info = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as typeof info;
  } catch { /* not JSON: torch failed to import */ }
  if (info.refused) return (setup = { usable: false, note: `PyTorch column: REFUSED. ${info.summary}. ${info.refused}` });
  if (r.status !== 0 || !info.summary) {
    const why = r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`;
    return (setup = { usable: false, note: `PyTorch column: not measured, torch_reference.py info failed (${why}); install: ${INSTALL}` });
  }
  return (setup = { usable: true, note: `PyTorch column: ${info.summary}` });
}

/** One run of scripts/bench/torch_reference.py (one process, one figure); null when the column is not usable. */
export function torchRun(...args: string[]): TorchRun | null {
  if (!torchSetup().usable) return null;
  const r = spawnSync('/usr/bin/python3', ['scripts/bench/torch_reference.py', ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) { // a lost reference sample should not lose the table: say so and leave the cell out
    console.error(`torch_reference.py ${args.join(' ')} failed (exit ${r.status}): ${r.stderr.trim().slice(-500)}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchRun;
}

/** How a bench row names its model: family, parameter count and the shape that matters (e.g. "llama-shaped 29.5M"). */
export const modelLabel = (kind: string, parameters: number): string => `${kind} ${(parameters / 1e6).toFixed(1)}M`;
