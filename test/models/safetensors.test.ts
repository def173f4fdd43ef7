// safetensors: round trips, bf16/f16 rounding bit-exact against torch, sharded sets, and every kind of bad file
// (each an LK_SAFETENSORS error naming the file and all bad tensors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bf16BitsToF32, countParameters, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, listTensors, openSafetensors,
  readSafetensorsHeader,
} from '../../src/models/safetensors.js';
import { writeSafetensors } from '../../src/models/safetensors-write.js';
import { expectError, modelDir, tmp } from './fixture-models.js';

/** A safetensors file from a raw header object and a data section (for crafting bad files). */
function craft(file: string, header: Record<string, unknown>, dataBytes: number, headerLenOverride?: bigint): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLenOverride ?? BigInt(json.length));
  writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes, 7)]));
  return file;
}
const entry = (dtype: string, shape: number[], b: number, e: number): Record<string, unknown> => ({ dtype, shape, data_offsets: [b, e] });

test('write → read round trip: F32, BF16, F16, I64, I32, metadata, 8-byte header alignment', () => {
  const f = join(tmp(), 'rt.safetensors');
  const x = Float32Array.from({ length: 12 }, (_, i) => (i - 5) * 0.37);
  writeSafetensors(f, [
    { name: 'a.f32', dtype: 'F32', shape: [3, 4], data: x },
    { name: 'b.bf16', dtype: 'BF16', shape: [12], data: x },
    { name: 'c.f16', dtype: 'F16', shape: [2, 6], data: x },
    { name: 'd.i64', dtype: 'I64', shape: [3], data: [1, -2, 2 ** 40] },
    { name: 'e.i32', dtype: 'I32', shape: [2], data: Int32Array.from([7, -8]) },
    { name: 'f.scalar', dtype: 'F32', shape: [], data: Float32Array.of(2.5) },
  ], { format: 'pt' });
  const h = readSafetensorsHeader(f);
  assert.equal((h.dataStart - 8) % 8, 0);
  assert.deepEqual(h.metadata, { format: 'pt' });
  const s = openSafetensors(f);
  try {
    assert.deepEqual(s.readFloat32('a.f32'), x);
    assert.deepEqual(s.readFloat32('b.bf16'), bf16BitsToF32(f32ToBf16Bits(x)));
    assert.deepEqual(s.readFloat32('c.f16'), f16BitsToF32(f32ToF16Bits(x)));
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(s.readFloat32('b.bf16')[i] - x[i]) <= Math.abs(x[i]) * 2 ** -8);
    assert.deepEqual([...(s.readRaw('d.i64') as BigInt64Array)], [1n, -2n, 2n ** 40n]);
    assert.deepEqual([...(s.readRaw('e.i32') as Int32Array)], [7, -8]);
    assert.deepEqual(s.readFloat32('f.scalar'), Float32Array.of(2.5));
    assert.deepEqual(s.readRaw('b.bf16'), f32ToBf16Bits(x));
    assert.throws(() => s.readFloat32('d.i64'), { code: 'LK_DTYPE' });
    assert.throws(() => s.readFloat32('nope'), { code: 'LK_WEIGHTS' });
  } finally {
    s.close();
  }
  assert.deepEqual(listTensors(f).map((t) => t.name), ['d.i64', 'a.f32', 'e.i32', 'f.scalar', 'b.bf16', 'c.f16']);
  assert.equal(countParameters(f), 12 * 3 + 3 + 2 + 1);
  assert.deepEqual(readdirSync(join(f, '..')), ['rt.safetensors']); // no temp file left behind
});

test('bf16 and f16 rounding match torch bit for bit (golden check tensors, edge cases included)', () => {
  const s = openSafetensors(join(modelDir('llama-tied-bf16'), 'golden.safetensors'));
  try {
    const names = [...s.tensors.keys()].filter((n) => n.endsWith('.f32_master'));
    assert.equal(names.length, 3);
    for (const m of names) {
      const base = m.slice(0, -'.f32_master'.length);
      const master = s.readFloat32(m);
      assert.deepEqual(f32ToBf16Bits(master), s.readRaw(`${base}.bf16`), `${base} bf16 bits`);
      assert.deepEqual(f32ToF16Bits(master), s.readRaw(`${base}.f16`), `${base} f16 bits`);
      assert.deepEqual(s.readFloat32(`${base}.bf16`), bf16BitsToF32(s.readRaw(`${base}.bf16`) as Uint16Array));
      const viaF16 = s.readFloat32(`${base}.f16`);
      const viaTable = f16BitsToF32(s.readRaw(`${base}.f16`) as Uint16Array);
      for (let i = 0; i < viaF16.length; i++) assert.ok(Object.is(viaF16[i], viaTable[i]));
    }
  } finally {
    s.close();
  }
  // NaN stays NaN (quiet), ties go to even.
  const bits = f32ToBf16Bits(Float32Array.of(NaN, 1 + 2 ** -8, 1 + 3 * 2 ** -8));
  assert.ok(Number.isNaN(bf16BitsToF32(bits)[0]));
  assert.deepEqual([...bf16BitsToF32(bits.subarray(1))], [1, 1 + 2 ** -6]);
  assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(Float32Array.of(NaN)))[0]));
});

test('sharded checkpoints: index + shards read as one set; a lying index names the tensor', async () => {
  const d = tmp();
  const x = Float32Array.from({ length: 6 }, (_, i) => i);
  writeSafetensors(join(d, 'model-00001-of-00002.safetensors'), [{ name: 'a', dtype: 'F32', shape: [2, 3], data: x }]);
  writeSafetensors(join(d, 'model-00002-of-00002.safetensors'), [{ name: 'b', dtype: 'BF16', shape: [6], data: x }]);
  const index = { metadata: { total_size: 36 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } };
  writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify(index));
  const s = openSafetensors(d);
  assert.deepEqual([...s.tensors.keys()].sort(), ['a', 'b']);
  assert.deepEqual(s.readFloat32('b'), x);
  assert.equal(s.files.length, 2);
  s.close();
  assert.equal(countParameters(d), 12);
  writeFileSync(
    join(d, 'model.safetensors.index.json'),
    JSON.stringify({ weight_map: { a: 'model-00002-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }),
  );
  await expectError(() => openSafetensors(d), 'LK_SAFETENSORS', ['model.safetensors.index.json', "'a'"]);
  writeFileSync(join(d, 'model.safetensors.index.json'), '{"weight_map": 3}');
  await expectError(() => openSafetensors(d), 'LK_SAFETENSORS', ['weight_map']);
});

test('a folder without safetensors weights is LK_WEIGHTS; a pickle is refused by name', async () => {
  const d = tmp();
  await expectError(() => openSafetensors(d), 'LK_WEIGHTS', [d]);
  writeFileSync(join(d, 'pytorch_model.bin'), 'x');
  await expectError(() => openSafetensors(d), 'LK_WEIGHTS', ['pytorch_model.bin']);
});

test('a truncated file names the file and every tensor cut off', async () => {
  const f = join(tmp(), 'model.safetensors');
  copyFileSync(join(modelDir('llama-gqa-f32'), 'model.safetensors'), f);
  truncateSync(f, statSync(f).size - 40000);
  await expectError(() => readSafetensorsHeader(f), 'LK_SAFETENSORS', [f, 'model.norm.weight', 'truncated']);
  truncateSync(f, 5);
  await expectError(() => readSafetensorsHeader(f), 'LK_SAFETENSORS', [f, '8-byte']);
});

test('bad headers: length beyond the file, not JSON, not an object', async () => {
  const d = tmp();
  await expectError(
    () => readSafetensorsHeader(craft(join(d, 'len.safetensors'), { a: entry('F32', [1], 0, 4) }, 4, 10n ** 12n)),
    'LK_SAFETENSORS',
    ['len.safetensors', 'header length'],
  );
  const f = join(d, 'json.safetensors');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(5n);
  writeFileSync(f, Buffer.concat([len, Buffer.from('{"a":')]));
  await expectError(() => readSafetensorsHeader(f), 'LK_SAFETENSORS', ['json.safetensors', 'JSON']);
  await expectError(
    () => readSafetensorsHeader(craft(join(d, 'arr.safetensors'), [] as unknown as Record<string, unknown>, 0)),
    'LK_SAFETENSORS',
    ['not a JSON object'],
  );
});

test('a header lying about sizes, dtypes and offsets reports ALL bad tensors at once', async () => {
  const d = tmp();
  const f = craft(join(d, 'lies.safetensors'), {
    __metadata__: { format: 'pt' },
    ok: entry('F32', [2], 0, 8),
    wrong_size: entry('F32', [3], 8, 16), // 3 × 4 = 12 ≠ 8
    bad_dtype: entry('Q4_K', [2], 16, 18),
    beyond: entry('F16', [4], 18, 26), // data section is 20 bytes
  }, 20);
  try {
    readSafetensorsHeader(f);
    assert.fail('should throw');
  } catch (e) {
    const err = e as { code: string; message: string; details: { tensors: string[] } };
    assert.equal(err.code, 'LK_SAFETENSORS');
    for (const n of ['lies.safetensors', 'wrong_size', 'bad_dtype', 'Q4_K', 'beyond']) assert.ok(err.message.includes(n), n);
    assert.ok(!err.details.tensors.includes('ok'));
    assert.deepEqual([...err.details.tensors].sort(), ['bad_dtype', 'beyond', 'wrong_size']);
  }
});

test('overlapping tensors, holes and uncovered trailing bytes are rejected (the spec requires full, ordered coverage)', async () => {
  const d = tmp();
  await expectError(() => readSafetensorsHeader(craft(join(d, 'overlap.safetensors'),
    { a: entry('F32', [2], 0, 8), b: entry('F32', [2], 4, 12) }, 12)),
    'LK_SAFETENSORS', ['overlap.safetensors', "'b'", "overlap 'a'"]);
  await expectError(() => readSafetensorsHeader(craft(join(d, 'hole.safetensors'), { a: entry('F32', [1], 0, 4), b: entry('F32', [1], 8, 12) }, 12)),
    'LK_SAFETENSORS', ['hole.safetensors', "'b'", 'hole']);
  await expectError(() => readSafetensorsHeader(craft(join(d, 'tail.safetensors'), { a: entry('F32', [1], 0, 4) }, 10)),
    'LK_SAFETENSORS', ['tail.safetensors', 'belong to no tensor']);
  await expectError(() => readSafetensorsHeader(craft(join(d, 'neg.safetensors'),
    { a: entry('F32', [1], 4, 0), b: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4)),
    'LK_SAFETENSORS', ["'a'", "'b'", 'data_offsets', 'shape']);
});

test('the fixture weights pass validation and count the parameters from the header alone', () => {
  const f = join(modelDir('gpt2-f32'), 'model.safetensors');
  const names = listTensors(f).map((t) => t.name);
  assert.ok(names.includes('wte.weight') && names.includes('h.0.attn.bias'));
  const bytes = readFileSync(f).length;
  assert.equal(readSafetensorsHeader(f).fileBytes, bytes);
  assert.equal(countParameters(modelDir('llama-gqa-f32')), 120256);
});

test('the writer refuses wrong lengths and duplicate names, and leaves no file behind', async () => {
  const d = tmp();
  const f = join(d, 'w.safetensors');
  await expectError(() => writeSafetensors(f, [{ name: 'a', dtype: 'F32', shape: [3], data: new Float32Array(2) }]), 'LK_ARG', ["'a'", 'shape [3]']);
  await expectError(
    () =>
      writeSafetensors(f, [{ name: 'a', dtype: 'F32', shape: [1], data: [1] }, { name: 'a', dtype: 'F32', shape: [1], data: [1] }]),
    'LK_ARG',
    ["'a'"],
  );
  assert.deepEqual(readdirSync(d), []);
});
