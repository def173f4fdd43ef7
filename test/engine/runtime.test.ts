// Runtime: sessions are cached by model bytes, feeds are checked with named errors, outputs can be preallocated,
// dynamic dims bind per run, after() orders a constant-only chain behind its anchor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/engine/index.js';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLorakitError } from '../../src/errors.js';

function buildScaled(): E.Graph {
  const g = new E.Graph('scaled');
  const x = g.input('x', 'float32', ['B', 'T', 4]);
  const w = g.input('w', 'float32', [4, 2]);
  g.output('y', E.matmul(x, w));
  g.output('n', E.reduceSum(x, [0, 1, 2]));
  return g;
}

test('same graph twice → one cached session; dynamic dims bind per run', async () => {
  const s1 = await E.compile(buildScaled());
  const s2 = await E.compile(buildScaled());
  assert.equal(s1, s2);
  const w = new Float32Array([1, 0, 0, 1, 1, 0, 0, 1]);
  for (const [b, t] of [[1, 3], [2, 5]]) {
    const x = Float32Array.from({ length: b * t * 4 }, (_, i) => i);
    const r = await s1.run({ x: { data: x, dims: [b, t, 4] }, w: { data: w, dims: [4, 2] } });
    assert.deepEqual(r.y.dims, [b, t, 2]);
    assert.equal(r.y.data[0], x[0] + x[2]);
    assert.equal(r.n.data[0], (b * t * 4 * (b * t * 4 - 1)) / 2);
  }
});

test('preallocated outputs are written in place', async () => {
  const s = await E.compile(buildScaled());
  const out = new Float32Array(2 * 3 * 2).fill(NaN);
  const x = new Float32Array(2 * 3 * 4).fill(1);
  const r = await s.run({ x: { data: x, dims: [2, 3, 4] }, w: { data: new Float32Array(8).fill(0.5), dims: [4, 2] } }, { y: out });
  assert.equal(out[0], 2);
  assert.equal(r.y.data.buffer, out.buffer, 'the returned tensor is the preallocated buffer');
  await assert.rejects(
    s.run({ x: { data: x, dims: [2, 3, 4] }, w: { data: new Float32Array(8), dims: [4, 2] } }, { y: new Float32Array(5) }),
    (e: unknown) => isLorakitError(e, 'LK_SHAPE'),
  );
});

test('bad feeds are refused with the input named', async () => {
  const s = await E.compile(buildScaled());
  const w = { data: new Float32Array(8), dims: [4, 2] };
  const bad = async (feeds: Record<string, E.TensorValue>, code: string, re: RegExp): Promise<void> => {
    await assert.rejects(s.run(feeds), (e: unknown) => isLorakitError(e) && e.code === code && re.test(e.message));
  };
  await bad({ w }, 'LK_GRAPH', /missing feed 'x'/);
  await bad({ x: { data: new Float64Array(4), dims: [1, 1, 4] }, w }, 'LK_DTYPE', /'x' is float64, expected float32/);
  await bad({ x: { data: new Float32Array(6), dims: [1, 2, 3] }, w }, 'LK_SHAPE', /'x' dim 2 is 3, expected 4/);
  await bad({ x: { data: new Float32Array(7), dims: [1, 2, 4] }, w }, 'LK_SHAPE', /need 8 values, got 7/);
});

test('hash dropout: drops ≈ p of the elements, scales the rest by 1/(1−p), same seed → same mask', async () => {
  const g = new E.Graph('dropout');
  const x = g.input('x', 'float32', ['B', 'T', 64]);
  const seed = g.input('seed', 'int64', []);
  g.output('y', E.hashDropout(x, 0.25, seed, 3));
  const s = await E.compile(g);
  const data = new Float32Array(4 * 100 * 64).fill(1);
  const run = async (sd: number): Promise<Float32Array> =>
    (await s.run({ x: { data, dims: [4, 100, 64] }, seed: { data: new BigInt64Array([BigInt(sd)]), dims: [] } })).y
      .data as Float32Array;
  const a = await run(7), b = await run(7), c = await run(8);
  const zeros = a.filter((v) => v === 0).length / a.length;
  assert.ok(Math.abs(zeros - 0.25) < 0.01, `dropped fraction ${zeros}`);
  assert.ok(a.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('symbolic output dims evaluate from the bound inputs (products and sums)', async () => {
  const { evalDim } = await import('../../src/engine/runtime/session.js');
  const env = new Map([['B', 2], ['T', 5], ['P', 3]]);
  assert.equal(evalDim('B*T', env), 10);
  assert.equal(evalDim('4*B*T', env), 40);
  assert.equal(evalDim('(P+T)', env), 8);
  assert.equal(evalDim('X*T', env), undefined);
});

test('after(): a constant-only chain waits for its anchor instead of running at the start', async () => {
  // onnxruntime may run nodes whose inputs are all constants first (it does here without after(): Cast, MatMul,
  // Tanh, …); low-memory QLoRA relies on after() to dequantize a layer's weights only when the layer's input exists.
  // The order is read from ORT's profile of the run.
  const dir = mkdtempSync(join(tmpdir(), 'lk-order-'));
  const prev = process.env.LORAKIT_ORT_PROFILE;
  process.env.LORAKIT_ORT_PROFILE = join(dir, 'p');
  try {
    const g = new E.Graph('anchored');
    const x = g.input('x', 'float32', ['B', 4]);
    const h = E.tanh(E.matmul(x, g.constant(new Float32Array(16).fill(0.5), [4, 4])));
    const w = g.constant(Uint8Array.from({ length: 16 }, (_, i) => i + 1), [4, 4], 'w', { dtype: 'uint8' });
    g.output('y', E.matmul(h, E.cast(E.after(w, h), 'float32')));
    const s = await E.compile(g, { noCache: true, optimization: 'disabled' });
    const r = await s.run({ x: { data: new Float32Array([1, 0, 0, 0]), dims: [1, 4] } });
    assert.ok(Math.abs(Number(r.y.data[0]) - Math.tanh(0.5) * (1 + 5 + 9 + 13)) < 1e-5, 'after() leaves the values unchanged');
    await s.dispose();
    type Event = { cat?: string; name: string; ts: number; args?: { op_name?: string } };
    const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8')) as Event[];
    const order = events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).sort((a, b) => a.ts - b.ts).map((e) => e.args?.op_name);
    assert.ok(order.includes('Tanh') && order.indexOf('Cast') > order.indexOf('Tanh'), `ran in the order ${order.join(', ')}`);
  } finally {
    if (prev === undefined) delete process.env.LORAKIT_ORT_PROFILE;
    else process.env.LORAKIT_ORT_PROFILE = prev;
    rmSync(dir, { recursive: true, force: true });
  }
});
