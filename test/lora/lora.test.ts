// LoRA semantics users rely on: PEFT target matching, exact trainable counts, step 0 equals the base, merge equals
// base + adapter (1e-4 relative), export → import round trip gives identical logits, mismatches refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { linearModules, defaultLoraTargets } from '../../src/models/modules.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { bindAdapter, trainableParameterCount } from '../../src/lora/adapter.js';
import { writeAdapter } from '../../src/lora/peft-io.js';
import { loadAdapterFor } from '../../src/lora/load.js';
import { writeMergedModel } from '../../src/lora/merge-folder.js';
import { isLorakitError } from '../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-lora-'));
const llamaDir = writeTinyModel(join(tmp, 'llama'), { seed: 3 });
const gpt2Dir = writeTinyModel(join(tmp, 'gpt2'), { arch: 'gpt2', seed: 4 });
const seqs = [[257, 72, 101, 108, 108, 111, 32, 119], [257, 84, 104, 101]];

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) { scale = Math.max(scale, Math.abs(b[i])); diff = Math.max(diff, Math.abs(a[i] - b[i])); }
  return diff / scale;
}

test('target_modules: suffix names, all-linear, regex, layers_to_transform, rank_pattern; no match is an error', async () => {
  const base = await loadCheckpoint(llamaDir, { tokenizer: false });
  const mods = linearModules(base.config);
  const sites = (raw: Record<string, unknown>): ReturnType<typeof resolveSites> =>
    resolveSites(parseLoraConfig(raw, 'test', defaultLoraTargets(base.config)), mods);
  assert.deepEqual(
    sites({}).map((s) => s.spec.path),
    [
      'model.layers.0.self_attn.q_proj',
      'model.layers.0.self_attn.v_proj',
      'model.layers.1.self_attn.q_proj',
      'model.layers.1.self_attn.v_proj',
    ],
  );
  assert.equal(sites({ target_modules: 'all-linear' }).length, 14);
  assert.equal(sites({ target_modules: '.*\\.1\\.mlp\\..*_proj' }).length, 3);
  assert.deepEqual(
    sites({ layers_to_transform: [1] }).map((s) => s.spec.path),
    ['model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj'],
  );
  const rp = sites({ r: 4, lora_alpha: 8, rank_pattern: { v_proj: 2 }, alpha_pattern: { 'layers.0.self_attn.q_proj': 16 } });
  assert.deepEqual(rp.map((s) => [s.r, s.scaling]), [[4, 4], [2, 4], [4, 2], [2, 4]]);
  assert.equal(sites({ r: 4, lora_alpha: 8, use_rslora: true })[0].scaling, 4);
  assert.throws(
    () => sites({ target_modules: ['q_proj', 'c_attn'] }),
    (e: unknown) => isLorakitError(e, 'LK_LORA_CONFIG') && /\["c_attn"\]/.test(e.message) && /q_proj/.test(e.message),
  );
  assert.throws(
    () => parseLoraConfig({ r: 0, lora_dropout: 2, bogus: 1 }, 'adapter_config.json', ['q_proj']),
    (e: unknown) =>
      isLorakitError(e, 'LK_LORA_CONFIG') &&
      /'r'/.test(e.message) &&
      /'lora_dropout'/.test(e.message) &&
      /bogus/.test(e.message),
  );
  // Trainable parameters counted exactly: q (r·32 + 32·r) + v (r·32 + 16·r) per layer, 2 layers, r = 8.
  const t = initLoraTensors(sites({}), true, 0);
  assert.equal(trainableParameterCount({ tensors: t }), 2 * ((8 * 32 + 32 * 8) + (8 * 32 + 16 * 8)));
});

for (const [arch, dir] of [['llama', llamaDir], ['gpt2', gpt2Dir]] as const) {
  test(`${arch}: step 0 equals the base; merge equals base + adapter; export → import is identical`, async () => {
    const base = await loadCheckpoint(dir, { tokenizer: false });
    const lm = new CausalLM(base.config, base.weights, base.shapes);
    const cfg = parseLoraConfig(
      {
        r: 4,
        lora_alpha: 8,
        target_modules: arch === 'gpt2' ? ['c_attn', 'c_fc'] : 'all-linear',
        fan_in_fan_out: arch === 'gpt2',
      },
      'test',
      defaultLoraTargets(base.config),
    );
    const sites = resolveSites(cfg, linearModules(base.config));
    const baseOut = await lm.score(seqs, { logits: true });
    // PEFT's default init (B = 0): the adapted model is exactly the base.
    const fresh = { config: cfg, sites, tensors: initLoraTensors(sites, true, 1) };
    const step0 = await lm.score(seqs, { logits: true, adapter: bindAdapter(fresh) });
    assert.equal(step0.lossSum, baseOut.lossSum);
    assert.deepEqual(step0.logits, baseOut.logits);
    // A trained-looking adapter (B random too) changes the outputs …
    const trained = { config: cfg, sites, tensors: initLoraTensors(sites, false, 2) };
    const withAdapter = await lm.score(seqs, { logits: true, adapter: bindAdapter(trained) });
    assert.ok(maxRelDiff(withAdapter.logits!, baseOut.logits!) > 1e-3, 'the adapter must change the logits');
    // … merging it gives the same logits within 1e-4 relative …
    const merged = await writeMergedModel(base, trained, join(tmp, `${arch}-merged`));
    const mb = await loadCheckpoint(merged.dir, { tokenizer: false });
    const mergedOut = await new CausalLM(mb.config, mb.weights, mb.shapes).score(seqs, { logits: true });
    const rel = maxRelDiff(mergedOut.logits!, withAdapter.logits!);
    assert.ok(rel < 1e-4, `merged vs base+adapter: max relative difference ${rel}`);
    // … and writing the adapter as a PEFT folder and reading it back gives identical logits.
    const adapterDir = join(tmp, `${arch}-adapter`);
    writeAdapter(adapterDir, trained, {});
    const peft = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(peft.peft_type, 'LORA');
    assert.equal(peft.fan_in_fan_out, arch === 'gpt2');
    const back = await loadAdapterFor(base, adapterDir);
    const again = await lm.score(seqs, { logits: true, adapter: back.binding });
    assert.deepEqual(again.logits, withAdapter.logits);
  });
}

test('an adapter that does not fit the base is refused, naming the tensors; pickles are refused', async () => {
  const base = await loadCheckpoint(llamaDir, { tokenizer: false });
  const gpt2 = await loadCheckpoint(gpt2Dir, { tokenizer: false });
  const cfg = parseLoraConfig({ r: 4, target_modules: ['c_attn'] }, 'test', ['c_attn']);
  const dir = join(tmp, 'gpt2-for-llama');
  writeAdapter(dir, { config: cfg, tensors: initLoraTensors(resolveSites(cfg, linearModules(gpt2.config)), true, 0) }, {});
  await assert.rejects(loadAdapterFor(base, dir), (e: unknown) => isLorakitError(e, 'LK_ADAPTER') && /c_attn/.test(e.message));
  const pickle = join(tmp, 'pickle');
  writeAdapter(
    pickle,
    {
      config: parseLoraConfig({}, 'x', ['q_proj', 'v_proj']),
      tensors: initLoraTensors(resolveSites(parseLoraConfig({}, 'x', ['q_proj', 'v_proj']), linearModules(base.config)), true, 0),
    },
    {},
  );
  const { rmSync } = await import('node:fs');
  rmSync(join(pickle, 'adapter_model.safetensors'));
  writeFileSync(join(pickle, 'adapter_model.bin'), 'pickle');
  await assert.rejects(loadAdapterFor(base, pickle), (e: unknown) => isLorakitError(e, 'LK_ADAPTER') && /pickle/.test(e.message));
  // Wrong shape: r in the config says 4, the tensor has rank 8.
  const wrong = join(tmp, 'wrong-rank');
  const c8 = parseLoraConfig({ r: 8 }, 'x', ['q_proj', 'v_proj']);
  writeAdapter(
    wrong,
    {
      config: parseLoraConfig({ r: 4 }, 'x', ['q_proj', 'v_proj']),
      tensors: initLoraTensors(resolveSites(c8, linearModules(base.config)), true, 0),
    },
    {},
  );
  await assert.rejects(loadAdapterFor(base, wrong),
    (e: unknown) => isLorakitError(e, 'LK_ADAPTER') && /q_proj\.lora_A\.weight' has shape \[8, 32\], expected \[4, 32\]/.test(e.message));
  // An adapter recorded against another base fingerprint is refused, naming both.
  const other = join(tmp, 'other-base');
  writeAdapter(
    other,
    { config: c8, tensors: initLoraTensors(resolveSites(c8, linearModules(base.config)), true, 0) },
    { base_fingerprint: 'f'.repeat(64), base_model: '/models/other' },
  );
  await assert.rejects(
    loadAdapterFor(base, other),
    (e: unknown) =>
      isLorakitError(e, 'LK_BASE_MISMATCH') && /ffffffffffff/.test(e.message) && e.message.includes(llamaDir),
  );
});
