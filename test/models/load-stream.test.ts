// The pipelined f32 reader (streamFloat32) against the synchronous one, at chunk sizes that split tensors and leave
// odd tails, and the refusal of NaN / ±Inf base weights at load (LK_NONFINITE naming tensor and element, issue 13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { bf16BitsToF32, f16BitsToF32, openSafetensors } from '../../src/models/safetensors.js';
import { writeSafetensors, type TensorToWrite, type WritableDtype } from '../../src/models/safetensors-write.js';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { tmp } from './fixture-models.js';

const values = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + seed) * 3);

test('streamFloat32 equals readFloat32 for F32/BF16/F16, odd and empty tensors, every chunk size, with and without reuse', async () => {
  const f = join(tmp(), 'mix.safetensors');
  const tensors: TensorToWrite[] = [
    { name: 'a.f32', dtype: 'F32', shape: [7, 5], data: values(35, 1) },
    { name: 'b.bf16', dtype: 'BF16', shape: [6, 6], data: values(36, 2) },
    { name: 'c.bf16.odd', dtype: 'BF16', shape: [37], data: values(37, 3) },
    { name: 'd.f16', dtype: 'F16', shape: [3, 11], data: values(33, 4) },
    { name: 'e.empty', dtype: 'BF16', shape: [0, 4], data: new Float32Array(0) },
  ];
  writeSafetensors(f, tensors);
  const s = openSafetensors(f);
  try {
    const names = [...s.tensors.keys()].reverse(); // not file order: the stream follows the caller's order
    for (const reuse of [false, true]) {
      for (const chunk of [2, 3, 4, 16, 1 << 20]) {
        const got: string[] = [];
        const buffers = new Set<ArrayBufferLike>();
        for await (const { info, data } of s.streamFloat32(names, { chunkElements: chunk, reuse })) {
          got.push(info.name);
          buffers.add(data.buffer);
          assert.deepEqual(data, s.readFloat32(info.name), `${info.name} at chunk ${chunk}, reuse ${reuse}`);
        }
        assert.deepEqual(got, names);
        // reuse: two scratch buffers taking turns, each regrown only for a larger tensor (sizes in order 0, 33, 37,
        // 36, 35: A, B↑, A↑, B↑, A → 4 buffers).
        assert.equal(buffers.size, reuse ? 4 : names.length);
      }
    }
  } finally {
    s.close();
  }
});

test('partElements: tensors come in whole-row parts at their offsets that concatenate to the tensor', async () => {
  const f = join(tmp(), 'parts.safetensors');
  writeSafetensors(f, [
    { name: 'a.bf16', dtype: 'BF16', shape: [7, 6], data: values(42, 7) },
    { name: 'b.f32', dtype: 'F32', shape: [5, 4], data: values(20, 8) },
    { name: 'c.f16', dtype: 'F16', shape: [3, 10], data: values(30, 9) },
  ]);
  const s = openSafetensors(f);
  try {
    for (const chunk of [2, 4, 1 << 20]) {
      for (const rows of [1, 2, 3, 100]) {
        const seen = new Map<string, number[]>();
        const joined = new Map<string, Float32Array>();
        for await (const { info, data, offset } of s.streamFloat32([...s.tensors.keys()], {
          chunkElements: chunk, reuse: true, partElements: (t) => rows * t.shape[1],
        })) {
          seen.set(info.name, [...(seen.get(info.name) ?? []), offset]);
          const all = joined.get(info.name) ?? new Float32Array(info.shape[0] * info.shape[1]);
          all.set(data, offset);
          joined.set(info.name, all);
          assert.ok(data.length <= rows * info.shape[1], `${info.name}: a part of ${data.length} elements`);
        }
        for (const [name, t] of s.tensors) {
          const parts = Math.ceil(t.shape[0] / rows);
          assert.deepEqual(seen.get(name), Array.from({ length: parts }, (_, i) => i * rows * t.shape[1]), `${name} offsets, ${rows} rows`);
          assert.deepEqual(joined.get(name), s.readFloat32(name), `${name} at chunk ${chunk}, ${rows} rows per part`);
        }
      }
    }
  } finally {
    s.close();
  }
});

test('an early break leaves no read running and the set can be closed', async () => {
  const f = join(tmp(), 'big.safetensors');
  writeSafetensors(f, [
    { name: 'x', dtype: 'BF16', shape: [1 << 16], data: values(1 << 16, 5) },
    { name: 'y', dtype: 'F32', shape: [9], data: values(9, 6) },
  ]);
  const s = openSafetensors(f);
  for await (const { info } of s.streamFloat32(['x', 'y'])) { assert.equal(info.name, 'x'); break; }
  s.close();
});

/** A tiny llama whose weights are rewritten as `dtype` with `bad` put at flat index `at` of `tensor`. */
function poisoned(dtype: WritableDtype, tensor: string, at: number, bad: number): string {
  const dir = writeTinyModel(join(tmp(), `poison-${dtype}`), { arch: 'llama', hidden: 32, layers: 2 });
  const s = openSafetensors(dir);
  const tensors: TensorToWrite[] = [...s.tensors.values()].map((t) => {
    const data = s.readFloat32(t.name);
    if (t.name === tensor) data[at] = bad;
    return { name: t.name, dtype, shape: t.shape, data };
  });
  s.close();
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

for (const [dtype, bad, at] of [
  ['BF16', NaN, 5], ['BF16', -Infinity, 64], ['BF16', Infinity, 7], ['F32', Infinity, 33], ['F16', NaN, 0],
  ['F16', 1e6, 70],
] as const) {
  test(`a base ${dtype} weight holding ${bad} is refused at load, naming the tensor and the element`, async () => {
    const name = 'model.layers.1.mlp.down_proj.weight'; // (32, 64)
    const dir = poisoned(dtype, name, at, bad);
    // Also when quantizing, which reads the tensor in parts of whole rows (here one row of 64 per part).
    // The quantized case runs twice: a failed load must not leave files open (the count may grow once, when the
    // runtime starts its threads, but not per load).
    const fds: number[] = [];
    for (const o of [{}, { quantize: 'int8', quantPartElements: 64 }, { quantize: 'int8', quantPartElements: 64 }] as const) {
      await assert.rejects(loadCheckpoint(dir, o), (e: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(e.code, 'LK_NONFINITE');
        assert.equal(e.details?.tensor, name);
        assert.equal(e.details?.index, at);
        assert.match(e.message, new RegExp(`\\[${Math.floor(at / 64)}, ${at % 64}\\]`));
        return true;
      });
      fds.push(readdirSync('/proc/self/fd').length);
    }
    assert.equal(fds[2], fds[1], 'a failed quantized load closed every file it opened');
    // The plain reader still returns every value, bad ones included, when not asked to check (data, not weights).
    const s = openSafetensors(dir);
    const w = s.readFloat32(name);
    const raw = s.readRaw(name);
    s.close();
    assert.ok(!Number.isFinite(w[at]), `${w[at]}`);
    const want = dtype === 'BF16' ? bf16BitsToF32(raw as Uint16Array) : dtype === 'F16' ? f16BitsToF32(raw as Uint16Array) : raw;
    assert.deepEqual(w, want);
  });
}

test('a finite checkpoint loads through the stream with the same values as readFloat32, in expectedWeights order', async () => {
  const dir = writeTinyModel(join(tmp(), 'ok'), { arch: 'llama', hidden: 32, layers: 2, dtype: 'BF16', tied: true });
  const ck = await loadCheckpoint(dir, { tokenizer: false });
  const s = openSafetensors(dir);
  try {
    for (const [name, w] of ck.weights) assert.deepEqual(w, s.readFloat32(name), name);
  } finally {
    s.close();
  }
  assert.equal(ck.dtypeOnDisk, 'BF16');
  assert.equal(ck.parameters, [...ck.weights.values()].reduce((a, w) => a + w.length, 0));
});
