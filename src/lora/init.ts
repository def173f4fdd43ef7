// PEFT's initialisation: A Kaiming-uniform with a = √5 (torch.nn.Linear's default: bound = 1/√in), B zeros, so
// the adapted model equals the base at step 0; 'gaussian': A normal with standard deviation 1/r (variance 1/r²),
// as PEFT's nn.init.normal_(std=1/r); false: B uniform in ±1/√r (nn.Linear's default for fan_in r; tests only).
import { Rng } from '../util/rng.js';
import type { LoraConfig } from './config.js';
import type { LoraSite } from './targets.js';

export function initLoraTensors(
  sites: readonly LoraSite[],
  init: LoraConfig['init_lora_weights'],
  seed: number,
): Map<string, { data: Float32Array; dims: number[] }> {
  const rng = new Rng(seed);
  const out = new Map<string, { data: Float32Array; dims: number[] }>();
  for (const s of sites) {
    const { inFeatures: nIn, outFeatures: nOut } = s.spec;
    const a = new Float32Array(s.r * nIn);
    if (init === 'gaussian') for (let i = 0; i < a.length; i++) a[i] = rng.normal() / s.r;
    else {
      // kaiming_uniform_(a=√5): gain = √(2/(1+5)), bound = gain·√(3/fan_in) = 1/√fan_in
      const bound = 1 / Math.sqrt(nIn);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.next() - 1) * bound;
    }
    const b = new Float32Array(nOut * s.r);
    if (init === false) for (let i = 0; i < b.length; i++) b[i] = (2 * rng.next() - 1) / Math.sqrt(s.r);
    out.set(s.keyA, { data: a, dims: [s.r, nIn] });
    out.set(s.keyB, { data: b, dims: [nOut, s.r] });
  }
  return out;
}
