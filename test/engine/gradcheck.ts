// Gradient checking harness: builds a case in float64 and float32, computes analytic gradients with grad(), and
// compares them with central finite differences of the float64 forward (eps 1e-6).
import assert from 'node:assert/strict';
import { Graph, type Sym, compile, grad, mul, reduceSum } from '../../src/engine/index.js';
import { Rng } from '../../src/util/rng.js';

export interface InputSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** 'pos' draws from [0.5, 2); 'any' from N(0,1); 'int' uses `data` as int64; 'bool' uses `data` as bool. */
  readonly kind?: 'pos' | 'any' | 'int' | 'bool' | 'away0';
  readonly data?: readonly number[];
  /** Float inputs are differentiated unless `frozen`. */
  readonly frozen?: boolean;
}

export interface GradCase {
  readonly name: string;
  readonly inputs: readonly InputSpec[];
  readonly build: (xs: Sym[], g: Graph) => Sym;
  /** ORT has no float64 kernel for this op (Erf): check float32 against float32 central differences (eps 1e-2). */
  readonly float32Only?: boolean;
}

export const TOL = {
  /** float64 analytic vs float64 central differences */
  f64: { rtol: 1e-5, atol: 1e-7 },
  /** float32 analytic (what training uses) vs float64 central differences */
  f32: { rtol: 2e-3, atol: 2e-4 },
  /** float32 analytic vs float32 central differences with eps 1e-2 (ops without a float64 kernel) */
  f32fd: { rtol: 5e-3, atol: 5e-4 },
};

function values(spec: InputSpec, rng: Rng): number[] {
  const n = spec.shape.reduce((p, d) => p * d, 1);
  if (spec.data) return [...spec.data];
  return Array.from({ length: n }, () => {
    if (spec.kind === 'pos') return 0.5 + 1.5 * rng.next();
    if (spec.kind === 'away0') { const v = rng.normal(); return v + Math.sign(v) * 0.3; }
    return rng.normal();
  });
}

interface Built { run: (vals: number[][]) => Promise<{ loss: number; grads: Float64Array[] }>; diffIdx: number[] }

async function build(c: GradCase, dtype: 'float32' | 'float64', weights: number[]): Promise<Built> {
  const g = new Graph(`gradcheck_${c.name}`);
  const xs = c.inputs.map((s) => g.input(s.name, s.kind === 'int' ? 'int64' : s.kind === 'bool' ? 'bool' : dtype, s.shape));
  const out = c.build(xs, g);
  const shape = out.shape as number[];
  const r = dtype === 'float64' ? new Float64Array(weights) : new Float32Array(weights);
  const loss = reduceSum(mul(out, g.constant(r, shape)), shape.map((_, i) => i));
  const diffIdx = c.inputs.map((s, i) => (s.kind === 'int' || s.kind === 'bool' || s.frozen ? -1 : i)).filter((i) => i >= 0);
  const gs = grad(loss, diffIdx.map((i) => xs[i]));
  g.output('loss', loss);
  gs.forEach((d, j) => g.output(`d_${c.inputs[diffIdx[j]].name}`, d));
  const s = await compile(g, { threads: 1 });
  return {
    diffIdx,
    async run(vals) {
      const feeds: Record<string, { data: Float32Array | Float64Array | BigInt64Array | Uint8Array; dims: number[] }> = {};
      c.inputs.forEach((spec, i) => {
        const data = spec.kind === 'int' ? new BigInt64Array(vals[i].map((v) => BigInt(v))) : spec.kind === 'bool' ? new Uint8Array(vals[i])
          : dtype === 'float64' ? new Float64Array(vals[i]) : new Float32Array(vals[i]);
        feeds[spec.name] = { data, dims: [...spec.shape] };
      });
      const res = await s.run(feeds);
      return {
        loss: Number((res.loss.data as Float64Array)[0]),
        grads: diffIdx.map((i) => Float64Array.from(res[`d_${c.inputs[i].name}`].data as Float64Array)),
      };
    },
  };
}

export async function checkGradients(c: GradCase, seed = 1): Promise<{ maxErr64: number; maxErr32: number }> {
  const rng = new Rng(seed);
  const vals = c.inputs.map((s) => values(s, rng));
  // Shape of the output is needed for the random projection; build once to learn it.
  const probe = new Graph('probe');
  const outShape = c.build(
    c.inputs.map((s) =>
      probe.input(s.name, s.kind === 'int' ? 'int64' : s.kind === 'bool' ? 'bool' : 'float64', s.shape),
    ),
    probe,
  ).shape as number[];
  const weights = Array.from({ length: outShape.reduce((p, d) => p * d, 1) }, () => rng.normal());
  const f32 = await build(c, 'float32', weights);
  const a32 = await f32.run(vals);
  if (c.float32Only) return checkFloat32Only(c, f32, a32.grads, vals);
  const f64 = await build(c, 'float64', weights);
  const a64 = await f64.run(vals);
  let maxErr64 = 0, maxErr32 = 0;
  const eps = 1e-6;
  for (let j = 0; j < f64.diffIdx.length; j++) {
    const i = f64.diffIdx[j];
    for (let k = 0; k < vals[i].length; k++) {
      const v = vals[i][k];
      vals[i][k] = v + eps;
      const lp = (await f64.run(vals)).loss;
      vals[i][k] = v - eps;
      const lm = (await f64.run(vals)).loss;
      vals[i][k] = v;
      const fd = (lp - lm) / (2 * eps);
      const e64 = Math.abs(a64.grads[j][k] - fd) / (TOL.f64.atol + TOL.f64.rtol * Math.abs(fd));
      const e32 = Math.abs(a32.grads[j][k] - fd) / (TOL.f32.atol + TOL.f32.rtol * Math.abs(fd));
      maxErr64 = Math.max(maxErr64, e64);
      maxErr32 = Math.max(maxErr32, e32);
      assert.ok(e64 <= 1, `${c.name}: d/d${c.inputs[i].name}[${k}] float64 analytic ${a64.grads[j][k]} vs finite difference ${fd}`);
      assert.ok(e32 <= 1, `${c.name}: d/d${c.inputs[i].name}[${k}] float32 analytic ${a32.grads[j][k]} vs finite difference ${fd}`);
    }
  }
  return { maxErr64, maxErr32 };
}

async function checkFloat32Only(
  c: GradCase,
  f32: Built,
  analytic: Float64Array[],
  vals: number[][],
): Promise<{ maxErr64: number; maxErr32: number }> {
  const eps = 1e-2;
  let maxErr32 = 0;
  for (let j = 0; j < f32.diffIdx.length; j++) {
    const i = f32.diffIdx[j];
    for (let k = 0; k < vals[i].length; k++) {
      const v = vals[i][k];
      vals[i][k] = v + eps;
      const lp = (await f32.run(vals)).loss;
      vals[i][k] = v - eps;
      const lm = (await f32.run(vals)).loss;
      vals[i][k] = v;
      const fd = (lp - lm) / (2 * eps);
      const e = Math.abs(analytic[j][k] - fd) / (TOL.f32fd.atol + TOL.f32fd.rtol * Math.abs(fd));
      maxErr32 = Math.max(maxErr32, e);
      assert.ok(e <= 1, `${c.name}: d/d${c.inputs[i].name}[${k}] float32 analytic ${analytic[j][k]} vs finite difference ${fd}`);
    }
  }
  return { maxErr64: 0, maxErr32 };
}
