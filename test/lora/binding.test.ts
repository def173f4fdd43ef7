// Adapters stay bound to their base (issue 13): the one shared loader refuses non-finite weights (naming the
// tensor and the first bad index), refuses a foreign adapter whose base_model_name_or_path names another model,
// says "unverified" when nothing can be checked, and accepts a name match or a recorded fingerprint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { linearModules, defaultLoraTargets } from '../../src/models/modules.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { writeAdapter } from '../../src/lora/peft-io.js';
import { loadAdapterFor } from '../../src/lora/load.js';
import { baseNamesOf, modelKey } from '../../src/lora/binding.js';
import { isLorakitError } from '../../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-bind-'));
const baseDir = writeTinyModel(join(tmp, 'tiny-llama'), { seed: 3 });

async function adapter(name: string, baseModel: string | null, poison?: { key: RegExp; index: number; value: number }): Promise<string> {
  const ck = await loadCheckpoint(baseDir, { tokenizer: false });
  const cfg = parseLoraConfig({ r: 2, base_model_name_or_path: baseModel }, 'test', defaultLoraTargets(ck.config));
  const tensors = initLoraTensors(resolveSites(cfg, linearModules(ck.config)), false, 7);
  if (poison) for (const [k, t] of tensors) if (poison.key.test(k)) { t.data[poison.index] = poison.value; break; }
  const dir = join(tmp, name);
  writeAdapter(dir, { config: cfg, tensors });
  rmSync(join(dir, 'lorakit.json')); // made elsewhere: no lorakit metadata
  return dir;
}

test('non-finite adapter weights are refused at load, naming the tensor and the first bad index', async () => {
  const base = await loadCheckpoint(baseDir, { tokenizer: false });
  for (const value of [NaN, Infinity, -Infinity]) {
    const dir = await adapter(`nan-${value}`, null, { key: /layers\.1\.self_attn\.v_proj\.lora_B/, index: 5, value });
    await assert.rejects(loadAdapterFor(base, dir), (e: unknown) => {
      assert.ok(isLorakitError(e, 'LK_ADAPTER'), String(e));
      assert.match(e.message, /base_model\.model\.model\.layers\.1\.self_attn\.v_proj\.lora_B\.weight/);
      assert.match(e.message, /index 5/);
      assert.equal((e.details.nonFinite as { tensor: string; index: number }[])[0].index, 5);
      return true;
    });
  }
});

test('a foreign adapter naming another base is refused; --allow-base-mismatch is recorded; a name match verifies', async () => {
  const base = await loadCheckpoint(baseDir, { tokenizer: false });
  const other = await adapter('for-qwen', 'Qwen/Qwen2-0.5B');
  await assert.rejects(loadAdapterFor(base, other),
    (e: unknown) => isLorakitError(e, 'LK_BASE_MISMATCH') && /Qwen\/Qwen2-0\.5B/.test(e.message) && e.message.includes('tiny-llama'));
  const allowed = await loadAdapterFor(base, other, { allowBaseMismatch: true });
  assert.equal(allowed.baseCheck.status, 'mismatch-allowed');
  assert.equal(allowed.baseCheck.verified, false);
  const same = await loadAdapterFor(base, await adapter('for-tiny', 'acme/tiny-llama'));
  assert.equal(same.baseCheck.status, 'name');
  assert.equal(same.baseCheck.verified, true);
  const registryName = await loadAdapterFor(base, await adapter('for-reg', 'acme/llama-tiny-v2'), { baseNames: ['acme/llama-tiny-v2'] });
  assert.equal(registryName.baseCheck.status, 'name');
  const unknown = await loadAdapterFor(base, await adapter('unknown', null));
  assert.equal(unknown.baseCheck.status, 'unverified');
  assert.equal(unknown.baseCheck.verified, false);
  assert.match(unknown.baseCheck.message, /base unverified/);
});

test('base names: last path segment, case-insensitive; a Hugging Face cache snapshot is named by its repo', () => {
  assert.equal(modelKey('meta-llama/Llama-3.2-1B/'), 'llama-3.2-1b');
  assert.equal(modelKey('C:\\models\\Llama-3.2-1B'), 'llama-3.2-1b');
  const snap = writeTinyModel(join(tmp, 'hub', 'models--acme--tiny-chat', 'snapshots', 'a'.repeat(40)), { seed: 1 });
  assert.ok(baseNamesOf(snap).includes('acme/tiny-chat'));
  assert.ok(baseNamesOf(snap, ['served-name']).includes('served-name'));
});
