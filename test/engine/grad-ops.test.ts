// Every primitive's gradient rule (and the composites built from them) against central finite differences in
// float64, on small random shapes including broadcasting. Tolerances: see TOL in gradcheck.ts
// (float64: rtol 1e-5, atol 1e-7; float32: rtol 2e-3, atol 2e-4). Erf has no float64 kernel in ORT, so its cases
// compare float32 gradients with float32 differences (eps 1e-2, rtol 5e-3).
import { test } from 'node:test';
import * as E from '../../src/engine/index.js';
import { type GradCase, checkGradients } from './gradcheck.js';

const cases: GradCase[] = [
  { name: 'Add broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }], build: ([a, b]) => E.add(a, b) },
  { name: 'Sub broadcast both', inputs: [{ name: 'a', shape: [2, 1] }, { name: 'b', shape: [1, 3] }], build: ([a, b]) => E.sub(a, b) },
  { name: 'Mul broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1] }], build: ([a, b]) => E.mul(a, b) },
  { name: 'Div broadcast', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3], kind: 'pos' }], build: ([a, b]) => E.div(a, b) },
  { name: 'Neg', inputs: [{ name: 'a', shape: [4] }], build: ([a]) => E.neg(a) },
  { name: 'Exp', inputs: [{ name: 'a', shape: [2, 3] }], build: ([a]) => E.exp(a) },
  { name: 'Log', inputs: [{ name: 'a', shape: [2, 3], kind: 'pos' }], build: ([a]) => E.log(a) },
  { name: 'Sqrt', inputs: [{ name: 'a', shape: [2, 3], kind: 'pos' }], build: ([a]) => E.sqrt(a) },
  { name: 'Pow const exponent', inputs: [{ name: 'a', shape: [2, 3], kind: 'pos' }], build: ([a]) => E.pow(a, 3) },
  {
    name: 'Pow tensor exponent broadcast',
    inputs: [{ name: 'a', shape: [2, 3], kind: 'pos' }, { name: 'p', shape: [3] }],
    build: ([a, p]) => E.pow(a, p),
  },
  { name: 'Reciprocal', inputs: [{ name: 'a', shape: [5], kind: 'pos' }], build: ([a]) => E.reciprocal(a) },
  { name: 'Tanh', inputs: [{ name: 'a', shape: [5] }], build: ([a]) => E.tanh(a) },
  { name: 'Sigmoid', inputs: [{ name: 'a', shape: [5] }], build: ([a]) => E.sigmoid(a) },
  { name: 'Erf', inputs: [{ name: 'a', shape: [5] }], build: ([a]) => E.erf(a), float32Only: true },
  { name: 'Abs', inputs: [{ name: 'a', shape: [5], kind: 'away0' }], build: ([a]) => E.abs(a) },
  { name: 'Identity', inputs: [{ name: 'a', shape: [3] }], build: ([a]) => E.identity(a) },
  { name: 'MatMul 2-D', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3, 4] }], build: ([a, b]) => E.matmul(a, b) },
  { name: 'MatMul activations @ weight', inputs: [{ name: 'a', shape: [2, 2, 3] }, { name: 'b', shape: [3, 4] }], build: ([a, b]) => E.matmul(a, b) },
  { name: 'MatMul weight @ batched', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 3, 4] }], build: ([a, b]) => E.matmul(a, b) },
  // A transposed 2-D operand becomes FusedMatMul (transA/transB) in float32 and stays Transpose + MatMul in float64.
  {
    name: 'FusedMatMul x·Wᵀ (linear)',
    inputs: [{ name: 'x', shape: [2, 3, 4] }, { name: 'w', shape: [5, 4] }],
    build: ([x, w]) => E.matmul(x, E.transposeLast2(w)),
  },
  {
    name: 'FusedMatMul Aᵀ·B',
    inputs: [{ name: 'a', shape: [3, 2] }, { name: 'b', shape: [3, 4] }],
    build: ([a, b]) => E.matmul(E.transposeLast2(a), b),
  },
  {
    name: 'FusedMatMul Aᵀ·Bᵀ',
    inputs: [{ name: 'a', shape: [3, 2] }, { name: 'b', shape: [4, 3] }],
    build: ([a, b]) => E.matmul(E.transposeLast2(a), E.transposeLast2(b)),
  },
  {
    name: 'FusedMatMul (x·Aᵀ)·Bᵀ (LoRA)',
    inputs: [{ name: 'x', shape: [2, 3, 4] }, { name: 'a', shape: [2, 4] }, { name: 'b', shape: [5, 2] }],
    build: ([x, a, b]) => E.matmul(E.matmul(x, E.transposeLast2(a)), E.transposeLast2(b)),
  },
  {
    name: 'MatMul broadcast batch',
    inputs: [{ name: 'a', shape: [2, 1, 2, 3] }, { name: 'b', shape: [1, 3, 3, 2] }],
    build: ([a, b]) => E.matmul(a, b),
  },
  {
    name: 'Gemm transA transB alpha beta',
    inputs: [{ name: 'a', shape: [3, 2] }, { name: 'b', shape: [4, 3] }, { name: 'c', shape: [4] }],
    build: ([a, b, c]) => E.gemm(a, b, c, { transA: true, transB: true, alpha: 0.7, beta: 1.3 }),
  },
  {
    name: 'Gemm plain',
    inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3, 2] }, { name: 'c', shape: [2, 2] }],
    build: ([a, b, c]) => E.gemm(a, b, c),
  },
  { name: 'Softmax last axis', inputs: [{ name: 'a', shape: [2, 4] }], build: ([a]) => E.softmax(a, -1) },
  { name: 'Softmax axis 0', inputs: [{ name: 'a', shape: [3, 2] }], build: ([a]) => E.softmax(a, 0) },
  { name: 'LogSoftmax', inputs: [{ name: 'a', shape: [2, 4] }], build: ([a]) => E.logSoftmax(a, -1) },
  { name: 'ReduceSum keepdims', inputs: [{ name: 'a', shape: [2, 3, 2] }], build: ([a]) => E.reduceSum(a, [1], true) },
  { name: 'ReduceSum no keepdims', inputs: [{ name: 'a', shape: [2, 3, 2] }], build: ([a]) => E.reduceSum(a, [0, 2], false) },
  { name: 'ReduceMean', inputs: [{ name: 'a', shape: [2, 3] }], build: ([a]) => E.reduceMean(a, [-1], true) },
  { name: 'ReduceMax', inputs: [{ name: 'a', shape: [2, 4] }], build: ([a]) => E.reduceMax(a, [1], false) },
  { name: 'Reshape', inputs: [{ name: 'a', shape: [2, 6] }], build: ([a]) => E.reshape(a, [3, -1]) },
  { name: 'Transpose', inputs: [{ name: 'a', shape: [2, 3, 4] }], build: ([a]) => E.transpose(a, [2, 0, 1]) },
  { name: 'Concat', inputs: [{ name: 'a', shape: [2, 1] }, { name: 'b', shape: [2, 3] }], build: ([a, b]) => E.concat([a, b], 1) },
  { name: 'Split (one output unused)', inputs: [{ name: 'a', shape: [2, 5] }], build: ([a]) => E.split(a, 1, [2, 3])[1] },
  {
    name: 'Split (both outputs)',
    inputs: [{ name: 'a', shape: [4, 2] }],
    build: ([a]) => {
      const [p, q] = E.split(a, 0, [1, 3]);
      return E.mul(E.reduceSum(p, [0], true), q);
    },
  },
  { name: 'Slice', inputs: [{ name: 'a', shape: [3, 5] }], build: ([a]) => E.slice(a, 1, 1, -1) },
  {
    name: 'Gather axis 0, repeated ids',
    inputs: [{ name: 'a', shape: [4, 3] }, { name: 'i', shape: [2, 3], kind: 'int', data: [0, 2, 2, 3, 0, 0] }],
    build: ([a, i]) => E.gather(a, i, 0),
  },
  {
    name: 'Gather axis 1',
    inputs: [{ name: 'a', shape: [2, 4, 3] }, { name: 'i', shape: [3], kind: 'int', data: [3, 1, 3] }],
    build: ([a, i]) => E.gather(a, i, 1),
  },
  { name: 'Expand', inputs: [{ name: 'a', shape: [1, 3] }], build: ([a]) => E.expand(a, [4, 3]) },
  { name: 'Unsqueeze + Squeeze', inputs: [{ name: 'a', shape: [2, 3] }], build: ([a]) => E.squeeze(E.mul(E.unsqueeze(a, [1]), 2), [1]) },
  {
    name: 'Where broadcast',
    inputs: [{ name: 'c', shape: [2, 3], kind: 'bool', data: [1, 0, 1, 0, 0, 1] }, { name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }],
    build: ([c, a, b]) => E.where(c, a, b),
  },
  { name: 'Pad', inputs: [{ name: 'a', shape: [2, 2] }], build: ([a]) => E.pad(a, [1, 0, 0, 2]) },
  { name: 'Trilu', inputs: [{ name: 'a', shape: [3, 3] }], build: ([a]) => E.trilu(a, false) },
  { name: 'Used twice accumulates', inputs: [{ name: 'a', shape: [3] }], build: ([a]) => E.add(E.mul(a, a), a) },
  { name: 'SiLU', inputs: [{ name: 'a', shape: [6] }], build: ([a]) => E.silu(a) },
  { name: 'GELU erf', inputs: [{ name: 'a', shape: [6] }], build: ([a]) => E.geluErf(a), float32Only: true },
  { name: 'GELU tanh', inputs: [{ name: 'a', shape: [6] }], build: ([a]) => E.geluTanh(a) },
  { name: 'RMSNorm', inputs: [{ name: 'x', shape: [2, 4] }, { name: 'w', shape: [4] }], build: ([x, w]) => E.rmsNorm(x, w, 1e-6) },
  {
    name: 'LayerNorm',
    inputs: [{ name: 'x', shape: [2, 4] }, { name: 'w', shape: [4] }, { name: 'b', shape: [4] }],
    build: ([x, w, b]) => E.layerNorm(x, w, b, 1e-5),
  },
  {
    name: 'Rotary embedding',
    inputs: [{ name: 'x', shape: [1, 2, 3, 4] }, { name: 'pos', shape: [1, 3], kind: 'int', data: [0, 1, 5] }],
    build: ([x, pos], g) => {
      const invFreq = g.constant(x.dtype === 'float64' ? new Float64Array([1, 0.01]) : new Float32Array([1, 0.01]), [2]);
      const { cos, sin } = E.rotaryTables(pos, invFreq);
      return E.applyRotary(x, cos, sin);
    },
  },
  {
    name: 'Causal attention, GQA, padding',
    inputs: [
      { name: 'q', shape: [2, 4, 3, 2] }, { name: 'k', shape: [2, 2, 3, 2] }, { name: 'v', shape: [2, 2, 3, 2] },
      { name: 'mask', shape: [2, 3], kind: 'int', data: [1, 1, 1, 1, 1, 0] },
    ],
    build: ([q, k, v, mask], g) =>
      E.attention(
        q,
        k,
        v,
        E.attentionBias({
          queryLen: 3,
          keyLen: 3,
          past: g.scalar(0, 'int64'),
          keyMask: mask,
          dtype: q.dtype as 'float32',
        }),
      ),
  },
  {
    name: 'Packed attention (segments)',
    inputs: [
      { name: 'q', shape: [1, 1, 4, 2] },
      { name: 'k', shape: [1, 1, 4, 2] },
      { name: 'v', shape: [1, 1, 4, 2] },
      { name: 'mask', shape: [1, 4], kind: 'int', data: [1, 1, 1, 1] },
      { name: 'seg', shape: [1, 4], kind: 'int', data: [0, 0, 1, 1] },
    ],
    build: ([q, k, v, mask, seg], g) =>
      E.attention(
        q,
        k,
        v,
        E.attentionBias({
          queryLen: 4,
          keyLen: 4,
          past: g.scalar(0, 'int64'),
          keyMask: mask,
          segments: seg,
          dtype: q.dtype as 'float32',
        }),
      ),
  },
  {
    name: 'Cross-entropy with ignore index',
    inputs: [{ name: 'logits', shape: [4, 5] }, { name: 'labels', shape: [4], kind: 'int', data: [1, -100, 4, 0] }],
    build: ([logits, labels]) => E.crossEntropy(logits, labels, -100).loss,
  },
];

for (const c of cases) {
  test(`gradient of ${c.name} matches finite differences`, async () => {
    await checkGradients(c);
  });
}
