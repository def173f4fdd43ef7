// loadCheckpoint on every fixture (shapes, dtypes, bf16 decode vs the f32 master, gpt2 name mapping, sharding),
// and its errors: every missing / mis-shaped tensor in one LK_WEIGHTS, nothing partially returned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, truncateSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { expectedWeights } from '../../src/models/config.js';
import { openSafetensors } from '../../src/models/safetensors.js';
import { writeSafetensors, type TensorToWrite } from '../../src/models/safetensors-write.js';
import { expectError, MODELS, modelDir, readGolden, tmp } from './fixture-models.js';

const FOLDER_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];
function copyFolder(m: string, to: string, withWeights = true): string {
  mkdirSync(to, { recursive: true });
  for (const f of [...FOLDER_FILES, ...(withWeights ? ['model.safetensors'] : [])]) copyFileSync(join(modelDir(m), f), join(to, f));
  return to;
}
/** The fixture's tensors as writable entries (f32), optionally edited. */
function tensorsOf(m: string, edit: (name: string, shape: number[]) => number[] | null = (_n, s) => s): TensorToWrite[] {
  const s = openSafetensors(modelDir(m));
  try {
    const out: TensorToWrite[] = [];
    for (const t of s.tensors.values()) {
      const shape = edit(t.name, [...t.shape]);
      if (!shape) continue;
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const src = s.readFloat32(t.name);
      data.set(src.subarray(0, Math.min(n, src.length)));
      out.push({ name: t.name, dtype: 'F32', shape, data });
    }
    return out;
  } finally {
    s.close();
  }
}

test('every fixture loads: all expected tensors with their shapes, tokenizer, generation config, timings', async () => {
  for (const m of MODELS) {
    const ck = await loadCheckpoint(modelDir(m));
    const exp = expectedWeights(ck.config);
    assert.deepEqual([...ck.weights.keys()].sort(), [...exp.keys()].sort(), m);
    for (const [name, shape] of exp) {
      assert.deepEqual(ck.shapes.get(name), shape);
      assert.equal(ck.weights.get(name)!.length, shape.reduce((a, b) => a * b, 1));
    }
    assert.equal(ck.dtypeOnDisk, readGolden(m).dtype_on_disk);
    assert.ok(ck.tokenizer && ck.tokenizer.vocabSize === ck.config.vocabSize);
    assert.ok(ck.generationConfig.eosTokenIds.length >= 1);
    assert.ok(ck.loadMs > 0 && ck.rssBytes > 1e6);
    assert.equal(ck.parameters, [...exp.values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0));
  }
  const gpt2 = await loadCheckpoint(modelDir('gpt2-f32'), { tokenizer: false });
  assert.ok(gpt2.weights.has('transformer.h.1.attn.c_attn.weight')); // canonical name, file has no prefix
  assert.deepEqual(gpt2.ignored, ['h.0.attn.bias', 'h.1.attn.bias']);
  assert.equal(gpt2.tokenizer, undefined);
});

test('bf16 weights decode exactly to torch’s values and lie within bf16 rounding of the f32 masters', async () => {
  const ck = await loadCheckpoint(modelDir('llama-tied-bf16'));
  assert.deepEqual(ck.dtypesOnDisk, { BF16: ck.parameters });
  const g = openSafetensors(join(modelDir('llama-tied-bf16'), 'golden.safetensors'));
  try {
    for (const name of ['model.embed_tokens.weight', 'model.layers.0.self_attn.q_proj.weight']) {
      const w = ck.weights.get(name)!;
      assert.deepEqual(w, g.readFloat32(`check.${name}.bf16`), name);
      const master = g.readFloat32(`check.${name}.f32_master`);
      for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i] - master[i]) <= Math.abs(master[i]) * 2 ** -8, `${name}[${i}]`);
    }
  } finally {
    g.close();
  }
});

test('a sharded copy loads to identical weights', async () => {
  const d = copyFolder('llama-gqa-f32', join(tmp(), 'sharded'), false);
  const all = tensorsOf('llama-gqa-f32');
  const half = Math.ceil(all.length / 2);
  const shards = [all.slice(0, half), all.slice(half)];
  const weightMap: Record<string, string> = {};
  shards.forEach((ts, i) => {
    const f = `model-0000${i + 1}-of-00002.safetensors`;
    writeSafetensors(join(d, f), ts);
    for (const t of ts) weightMap[t.name] = f;
  });
  writeFileSync(join(d, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const a = await loadCheckpoint(d);
  const b = await loadCheckpoint(modelDir('llama-gqa-f32'));
  assert.equal(a.weights.size, b.weights.size);
  for (const [k, v] of b.weights) assert.deepEqual(a.weights.get(k), v, k);
});

test('missing and mis-shaped tensors are all reported in one LK_WEIGHTS error naming file and tensors', async () => {
  const d = copyFolder('llama-gqa-f32', join(tmp(), 'bad'), false);
  writeSafetensors(join(d, 'model.safetensors'), tensorsOf('llama-gqa-f32', (name, shape) => {
    if (name === 'model.layers.1.mlp.up_proj.weight') return null; // missing
    if (name === 'model.layers.0.self_attn.k_proj.weight') return [64, 64]; // should be [32, 64]
    return shape;
  }));
  try {
    await loadCheckpoint(d);
    assert.fail('should throw');
  } catch (e) {
    const err = e as { code: string; message: string; details: { tensors: string[] } };
    assert.equal(err.code, 'LK_WEIGHTS', err.message);
    for (const s of [
      join(d, 'model.safetensors'), 'model.layers.1.mlp.up_proj.weight', 'missing',
      'model.layers.0.self_attn.k_proj.weight', '[64, 64]', '[32, 64]',
    ]) {
      assert.ok(err.message.includes(s), s);
    }
    assert.deepEqual(err.details.tensors.sort(), ['model.layers.0.self_attn.k_proj.weight', 'model.layers.1.mlp.up_proj.weight']);
  }
});

test('a corrupt weights file, an unknown architecture and an unreadable tokenizer each fail with their code', async () => {
  const root = tmp();
  const trunc = copyFolder('mistral-f32', join(root, 'trunc'));
  truncateSync(join(trunc, 'model.safetensors'), statSync(join(trunc, 'model.safetensors')).size - 1000);
  await expectError(() => loadCheckpoint(trunc), 'LK_SAFETENSORS', [join(trunc, 'model.safetensors')]);

  const arch = copyFolder('mistral-f32', join(root, 'arch'));
  const cfg = JSON.parse(readFileSync(join(arch, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(arch, 'config.json'), JSON.stringify({ ...cfg, model_type: 'mixtral', architectures: ['MixtralForCausalLM'] }));
  await expectError(() => loadCheckpoint(arch), 'LK_CONFIG', [join(arch, 'config.json'), 'mixtral', 'MistralForCausalLM']);

  const tokd = copyFolder('mistral-f32', join(root, 'tok'));
  writeFileSync(join(tokd, 'tokenizer.json'), '\u0000garbage');
  await expectError(() => loadCheckpoint(tokd), 'LK_TOKENIZER', [join(tokd, 'tokenizer.json')]);
  const ok = await loadCheckpoint(tokd, { tokenizer: false });
  assert.equal(ok.tokenizer, undefined);

  const dtype = copyFolder('mistral-f32', join(root, 'dtype'), false);
  writeSafetensors(join(dtype, 'model.safetensors'), tensorsOf('mistral-f32').map((t) =>
    (t.name === 'model.norm.weight' ? { name: t.name, dtype: 'I32' as const, shape: t.shape, data: new Int32Array(64) } : t)));
  await expectError(() => loadCheckpoint(dtype), 'LK_WEIGHTS', ['model.norm.weight', 'I32']);
});
