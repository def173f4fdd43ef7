// The LoRA formulas of src/lora/linear.ts agree with each other: the activation delta x·Aᵀ·s·Bᵀ equals x times the
// merged ΔW = s·B·A in both storage layouts (Linear (out, in); Conv1D (in, out) with fan_in_fan_out), and folding
// the scale into B on the host gives the same delta.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Graph, compile, matmul, transposeLast2 } from '../../src/engine/index.js';
import { loraDelta, loraScaling, loraWeightDelta, scaleB } from '../../src/lora/linear.js';
import { Rng } from '../../src/util/rng.js';

const rand = (n: number, rng: Rng): Float32Array => Float32Array.from({ length: n }, () => rng.normal());

test('scaling: alpha / r, or alpha / sqrt(r) with rsLoRA', () => {
  assert.equal(loraScaling(16, 8, false), 2);
  assert.equal(loraScaling(16, 4, true), 8);
});

test('x·Aᵀ·s·Bᵀ equals x·ΔWᵀ (Linear) and x·ΔW (Conv1D), and equals the delta with s folded into B', async () => {
  const [T, inn, out, r, s] = [3, 5, 4, 2, 1.5];
  const rng = new Rng(7);
  const x = rand(T * inn, rng), a = rand(r * inn, rng), b = rand(out * r, rng);
  for (const conv1d of [false, true]) {
    const g = new Graph(`lora_math_${conv1d}`);
    const xs = g.input('x', 'float32', [T, inn]), as = g.input('a', 'float32', [r, inn]), bs = g.input('b', 'float32', [out, r]);
    const bScaled = g.input('b_scaled', 'float32', [out, r]);
    const dw = loraWeightDelta(as, bs, g.scalar(s), conv1d);
    g.output('via_delta', loraDelta(xs, as, bs, s));
    g.output('via_merged', matmul(xs, conv1d ? dw : transposeLast2(dw)));
    g.output('via_folded', loraDelta(xs, as, bScaled));
    const run = await (await compile(g, { threads: 1 })).run({
      x: { data: x, dims: [T, inn] }, a: { data: a, dims: [r, inn] }, b: { data: b, dims: [out, r] },
      b_scaled: { data: scaleB(b, s), dims: [out, r] },
    });
    const want = run.via_delta.data as Float32Array;
    for (const k of ['via_merged', 'via_folded']) {
      const got = run[k].data as Float32Array;
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * (1 + Math.abs(want[i])), `${k}[${i}] (conv1d ${conv1d})`);
    }
  }
});
