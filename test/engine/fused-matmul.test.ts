// x·Wᵀ never materializes Wᵀ (issue 12): the builder emits FusedMatMul(transB) for a 2-D transposed operand, the
// gradient rule stays transpose-free, and Transpose∘Transpose composes away.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as E from '../../src/engine/index.js';

test('matmul with a transposed 2-D weight: FusedMatMul forward and backward, no live Transpose reads the weight', () => {
  const g = new E.Graph();
  const x = g.input('x', 'float32', ['B', 'T', 8]);
  const w = g.input('w', 'float32', [6, 8]), a = g.input('a', 'float32', [2, 8]), b = g.input('b', 'float32', [6, 2]);
  const y = E.add(E.matmul(x, E.transposeLast2(w)), E.matmul(E.matmul(x, E.transposeLast2(a)), E.transposeLast2(b))); // (B, T, 6)
  const loss = E.reduceSum(E.mul(y, y), [0, 1, 2]);
  const [dx, da, db] = E.grad(loss, [x, a, b]);
  g.output('dx', dx);
  g.output('da', da);
  g.output('db', db);
  assert.deepEqual(da.shape, [2, 8]);
  assert.deepEqual(db.shape, [6, 2]);
  const m = E.decodeModel(E.emitModel(g).bytes);
  assert.deepEqual(m.nodes.filter((n) => n.opType === 'Transpose' && ['w', 'a', 'b'].includes(n.inputs[0])).map((n) => n.inputs[0]), []);
  const fused = m.nodes.filter((n) => n.opType === 'FusedMatMul');
  assert.ok(fused.every((n) => n.domain === 'com.microsoft'));
  assert.ok(fused.some((n) => n.inputs[1] === 'w' && n.attrs.transB === 1), 'forward reads W transposed in place');
  assert.ok(m.nodes.some((n) => n.opType === 'MatMul' && n.inputs[1] === 'w'), 'backward dX = dY·W reads W as stored');
});

test('Transpose of a Transpose composes: (Wᵀ)ᵀ is W itself, other perms fold into one node', () => {
  const g = new E.Graph();
  const w = g.input('w', 'float32', [3, 4]);
  assert.equal(E.transposeLast2(E.transposeLast2(w)), w);
  const x = g.input('x', 'float32', [2, 3, 4]);
  const t = E.transpose(E.transpose(x, [1, 2, 0]), [1, 2, 0]); // (4, 2, 3)
  assert.deepEqual(t.shape, [4, 2, 3]);
  assert.equal(t.producer!.inputs[0], x);
  assert.deepEqual(t.producer!.attrs.perm, [2, 0, 1]);
});

test('float64 keeps Transpose + MatMul (ORT has no float64 FusedMatMul)', () => {
  const g = new E.Graph();
  const x = g.input('x', 'float64', [2, 4]), w = g.input('w', 'float64', [3, 4]);
  assert.equal(E.matmul(x, E.transposeLast2(w)).producer!.op, 'MatMul');
});
