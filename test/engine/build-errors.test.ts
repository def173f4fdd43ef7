// Build-time errors name the op and the shapes; frozen weights get no gradient work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { isLorakitError } from '../../src/errors.js';

function throwsCode(fn: () => unknown, code: string, ...mentions: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isLorakitError(e), `expected a LorakitError, got ${String(e)}`);
    assert.equal(e.code, code);
    for (const m of mentions) assert.match(e.message, m);
    return true;
  });
}

test('shape mismatch names the op and both shapes', () => {
  const g = new E.Graph();
  const a = g.input('a', 'float32', ['B', 3]), b = g.input('b', 'float32', [4, 5]);
  throwsCode(() => E.matmul(a, b), 'LK_SHAPE', /MatMul/, /\[B,3\]/, /\[4,5\]/);
  throwsCode(() => E.add(g.input('c', 'float32', [2, 3]), g.input('d', 'float32', [4])), 'LK_SHAPE', /Add/, /\[2,3\]/, /\[4\]/);
  throwsCode(() => E.reshape(g.input('e', 'float32', [2, 3]), [4, -1]), 'LK_SHAPE', /Reshape/, /\[2,3\]/);
  throwsCode(() => E.add(g.input('f', 'float32', ['B', 3]), g.input('h', 'float32', ['T', 3])), 'LK_SHAPE', /B vs T/);
});

test('wrong dtype names the op and the tensor', () => {
  const g = new E.Graph();
  const ids = g.input('ids', 'int64', [2]);
  throwsCode(() => E.exp(ids), 'LK_DTYPE', /Exp/, /ids:int64/);
  throwsCode(() => E.add(g.input('x', 'float32', [2]), ids), 'LK_DTYPE', /Add/);
  throwsCode(() => E.gather(g.input('t', 'float32', [4, 2]), g.input('i', 'float32', [2])), 'LK_DTYPE', /Gather/);
});

test('an op without a gradient rule is a build-time error naming it', () => {
  const g = new E.Graph();
  const x = g.input('x', 'float32', [3]);
  const y = E.reduceSum(E.maximum(x, 0), [0]);
  throwsCode(() => E.grad(y, [x]), 'LK_NO_GRAD_RULE', /failed to compute gradient for Max/, /x:float32\[3\]/);
});

test('symbolic dims flow through reshape: (B,T,8) → (-1, 8) → back', () => {
  const g = new E.Graph();
  const x = g.input('x', 'float32', ['B', 'T', 8]);
  const flat = E.reshape(x, [-1, 8]);
  assert.deepEqual(flat.shape, ['B*T', 8]);
  assert.deepEqual(E.reshape(flat, [-1, 2, 4]).shape, ['B*T', 2, 4]);
  assert.deepEqual(E.reshape(x, ['B', 'T', 2, 4]).shape, ['B', 'T', 2, 4]);
  // Two dims that are neither copied nor inferable cannot be expressed as one ONNX Reshape spec.
  throwsCode(() => E.reshape(flat, ['B', 'T', 8]), 'LK_SHAPE', /more than one dim to infer/);
});

test('frozen weights get no gradient work: d/dA needs no node producing a d/dW-shaped tensor', () => {
  // y = x·W + (x·A)·B with W frozen: only dA and dB, never dW ((64, 48) here), are computed.
  const build = (wrtW: boolean): number => {
    const g = new E.Graph();
    const x = g.input('x', 'float32', [2, 5, 64]);
    const w = g.input('w', 'float32', [64, 48]), a = g.input('a', 'float32', [64, 4]), b = g.input('b', 'float32', [4, 48]);
    const y = E.add(E.matmul(x, w), E.matmul(E.matmul(x, a), b));
    const loss = E.reduceSum(E.mul(y, y), [0, 1, 2]);
    const grads = E.grad(loss, wrtW ? [a, b, w] : [a, b]);
    grads.forEach((d, i) => g.output(`g${i}`, d));
    const before = g.nodes.length;
    const { nodeCount } = E.emitModel(g);
    assert.ok(before >= nodeCount);
    const dwShaped = g.nodes.filter(
      (n) =>
        n.outputs.some((o) => o.shape.length === 2 && o.shape[0] === 64 && o.shape[1] === 48) && /MatMul$/.test(n.op),
    ).length;
    return dwShaped;
  };
  assert.equal(build(false), 0, 'no (64,48) (Fused)MatMul when W is frozen');
  assert.equal(build(true), 1, 'exactly one (64,48) (Fused)MatMul when W is trained');
});
