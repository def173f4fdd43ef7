// The family specs (src/models/families) are the one source of each architecture fact: config options the engine
// cannot run are refused at load, and the linear modules, default LoRA targets, stored shapes, fan_in_fan_out and
// LM head that loading, LoRA and training use are the spec's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { activationNames } from '../../src/engine/index.js';
import { isLorakitError } from '../../src/errors.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { storedShape } from '../../src/models/architecture.js';
import { expectedWeights, loadConfig, normalizeConfig } from '../../src/models/config.js';
import { families, familyOf } from '../../src/models/families/index.js';
import { buildCausalLMGraph } from '../../src/models/graphs.js';
import { defaultLoraTargets, fanInFanOut, linearModules, lmHeadName } from '../../src/models/modules.js';
import { MODELS, expectError, modelDir, tmp } from './fixture-models.js';

const tiny = {
  llama: {
    model_type: 'llama',
    hidden_size: 16,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    intermediate_size: 32,
    num_hidden_layers: 1,
    vocab_size: 11,
  },
  gpt2: { model_type: 'gpt2', n_embd: 16, n_head: 2, n_layer: 1, vocab_size: 11, n_positions: 8 },
};

test('an activation the engine cannot run is refused at load with LK_CONFIG naming the field and the allowed values', async () => {
  const d = tmp();
  const cases = [
    { ...tiny.llama, hidden_act: 'quick_gelu' },
    { ...tiny.llama, model_type: 'mistral', hidden_act: 'relu' },
    { ...tiny.gpt2, activation_function: 'relu' },
  ];
  for (const raw of cases) {
    writeFileSync(join(d, 'config.json'), JSON.stringify(raw));
    const field = raw.model_type === 'gpt2' ? 'activation_function' : 'hidden_act';
    const actual = raw.model_type === 'gpt2' ? 'relu' : (raw as { hidden_act: string }).hidden_act;
    await expectError(() => loadConfig(d), 'LK_CONFIG', [join(d, 'config.json'), `'${field}'`, actual, ...activationNames]);
    assert.throws(() => loadConfig(d), (e: unknown) => isLorakitError(e, 'LK_CONFIG') && e.details.field === field && e.details.actual === actual);
  }
});

test('every activation a spec accepts builds its forward graph', () => {
  for (const [type, fam] of Object.entries(families)) {
    const raw = type === 'gpt2' ? tiny.gpt2 : { ...tiny.llama, model_type: type };
    for (const act of fam.activations) {
      const cfg = normalizeConfig({ ...raw, [fam.keys.act]: act });
      assert.equal(cfg.hiddenAct, act);
      const built = buildCausalLMGraph(cfg, { mode: 'score', shapes: expectedWeights(cfg) });
      assert.ok(built.weightInputs.length > 0, `${type}/${act}`);
    }
  }
});

test("each family's spec drives its linear modules, default LoRA targets, stored shapes and LM head", () => {
  const seen = new Set<string>();
  for (const m of MODELS) {
    const cfg = loadConfig(modelDir(m));
    const fam = familyOf(cfg);
    seen.add(cfg.modelType);
    const layerLinears = fam.tensors(cfg).layer.filter((e) => e.kind === 'linear');
    const mods = linearModules(cfg);
    assert.equal(mods.length, cfg.numLayers * layerLinears.length, m);
    const weights = expectedWeights(cfg);
    for (const mod of mods) {
      assert.equal(mod.conv1d, fam.fanInFanOut, mod.path);
      assert.deepEqual(weights.get(`${mod.path}.weight`), storedShape(mod), mod.path);
    }
    assert.equal(fanInFanOut(cfg), fam.fanInFanOut);
    assert.equal(lmHeadName(cfg), cfg.tieWordEmbeddings ? fam.embedding : 'lm_head.weight', m);

    // With no target_modules, LoRA adapts the spec's default targets in every layer, and nothing else.
    assert.deepEqual(defaultLoraTargets(cfg), [...fam.defaultLoraTargets]);
    const sites = resolveSites(parseLoraConfig({}, 'test', defaultLoraTargets(cfg)), mods);
    const want = Array.from({ length: cfg.numLayers }, (_, i) => mods.filter((x) => x.path.startsWith(`${fam.layerPrefix(i)}.`)))
      .flat().filter((x) => fam.defaultLoraTargets.some((t) => x.path.endsWith(`.${t}`))).map((x) => x.path);
    assert.ok(want.length >= cfg.numLayers, m);
    assert.deepEqual(sites.map((s) => s.spec.path), want, m);
    assert.equal(resolveSites(parseLoraConfig({ target_modules: 'all-linear' }, 'test', []), mods).length, mods.length);
  }
  assert.deepEqual([...seen].sort(), Object.keys(families).sort()); // the fixtures cover every family
});
