// scripts/make-scale-checkpoint.ts with the 1B preset's fields shrunk: a sharded bf16 folder that loadCheckpoint
// takes, norms exactly 1, other weights about N(0, 0.02²), nothing left at '<dir>.partial'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeScaleCheckpoint } from '../../scripts/make-scale-checkpoint.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { tmp } from './fixture-models.js';

test('a shrunk llama-3.2-1b folder: sharded, loadable, init-like weights, tokenizer ids at 128000', async () => {
  const dir = join(tmp(), 'scale');
  const small = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 16, intermediate_size: 128 };
  const r = makeScaleCheckpoint('llama-3.2-1b', dir, { seed: 3, shardBytes: 1 << 20, override: small });
  assert.ok(r.shards >= 2, `${r.shards} shards`);
  assert.ok(!existsSync(`${dir}.partial`));
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  assert.equal(new Set(Object.values(index.weight_map)).size, r.shards);
  const ck = await loadCheckpoint(dir);
  assert.equal(ck.config.vocabSize, 128256);
  assert.equal(ck.parameters, r.parameters);
  assert.equal(ck.dtypeOnDisk, 'BF16');
  for (const [name, w] of ck.weights) {
    if (/norm/.test(name)) { assert.ok(w.every((x) => x === 1), name); continue; }
    let s2 = 0;
    for (const x of w) s2 += x * x;
    const std = Math.sqrt(s2 / w.length);
    assert.ok(Math.abs(std - 0.02) < 0.002, `${name}: std ${std}`);
  }
  assert.ok(ck.tokenizer!.eosTokenIds.includes(128001));
  assert.deepEqual(ck.generationConfig.eosTokenIds, [128001]);
  assert.deepEqual(ck.tokenizer!.encode('hi', { addSpecialTokens: false }), [104, 105]);
});
