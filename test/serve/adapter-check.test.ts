// Serving checks an adapter once (issue 14): registration runs the one check of src/lora/load.ts (files, base
// binding, config, sites, tensor shapes from the header) plus --max-lora-rank, and refuses a bad adapter with its
// code before any weight is read; loading then reads only the tensor data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isLorakitError } from '../../src/errors.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { defaultLoraTargets, linearModules } from '../../src/models/modules.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { resolveSites } from '../../src/lora/targets.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { writeAdapter, type LorakitAdapterMeta } from '../../src/lora/peft-io.js';
import { checkAdapterFor } from '../../src/lora/load.js';
import { MultiLoraSlots } from '../../src/lora/multi.js';
import { AdapterManager } from '../../src/serve/adapters.js';
import { ServeMetrics } from '../../src/serve/metrics.js';
import { createServer } from '../../src/serve/server.js';
import { makeFixture, tmp } from './helpers.js';

const root = tmp('lk-serve-check-');
const fx = await makeFixture(root, [{ name: 'good', r: 4, seed: 61 }]);
const base = await loadCheckpoint(fx.base, { tokenizer: false });

interface Bad {
  readonly r?: number;
  readonly rankPattern?: Record<string, number>;
  readonly meta?: LorakitAdapterMeta;
  readonly drop?: RegExp;
  readonly nan?: boolean;
}
function adapter(name: string, o: Bad = {}): string {
  const raw = { r: o.r ?? 4, target_modules: ['q_proj', 'v_proj'], ...(o.rankPattern ? { rank_pattern: o.rankPattern } : {}) };
  const cfg = parseLoraConfig(raw, 'test', defaultLoraTargets(base.config));
  const tensors = initLoraTensors(resolveSites(cfg, linearModules(base.config)), false, 9);
  if (o.drop) for (const k of [...tensors.keys()]) if (o.drop.test(k)) tensors.delete(k);
  if (o.nan) [...tensors.values()][1].data[0] = NaN;
  writeAdapter(join(root, name), { config: cfg, tensors }, o.meta ?? {});
  return join(root, name);
}

const bad = {
  big: adapter('big', { r: 16 }),
  fp: adapter('fp', { meta: { base_fingerprint: 'f'.repeat(64) } }),
  missing: adapter('missing', { drop: /layers\.1\.self_attn\.v_proj\.lora_B/ }),
};

const manager = (maxRank: number): AdapterManager => new AdapterManager(base, new MultiLoraSlots(3), {
  maxRank, metrics: new ServeMetrics(), baseFingerprint: async () => 'a'.repeat(64), warn: () => {},
});
const refused = (code: string, re: RegExp) => (e: unknown): boolean => {
  assert.ok(isLorakitError(e), String(e));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, re);
  return true;
};

test('the one check returns config, sites and rank (rank_pattern included) without reading tensor data', async () => {
  const dir = adapter('pattern', { r: 2, rankPattern: { v_proj: 6 }, nan: true });
  const c = await checkAdapterFor(base, dir);
  assert.equal(c.config.r, 2);
  assert.equal(c.rank, 6);
  assert.deepEqual([...new Set(c.sites.map((s) => s.spec.path.split('.').pop()))].sort(), ['q_proj', 'v_proj']);
  assert.equal(c.baseCheck.status, 'unverified');
});

test('register refuses rank over the limit, a wrong base and a missing tensor with their codes, before reading weights', async () => {
  const m = manager(8);
  await assert.rejects(m.register('big', bad.big), refused('LK_ADAPTER', /rank 16.*--max-lora-rank 8/));
  await assert.rejects(m.register('pat', adapter('pat', { r: 4, rankPattern: { q_proj: 12 } })), refused('LK_ADAPTER', /rank 12/));
  await assert.rejects(m.register('fp', bad.fp), refused('LK_BASE_MISMATCH', /ffffffffffff/));
  await assert.rejects(m.register('missing', bad.missing), refused('LK_ADAPTER', /missing tensor '.*layers\.1\.self_attn\.v_proj\.lora_B\.weight'/));
  assert.deepEqual(m.list().map((e) => e.name), [], 'nothing refused stays registered');
  // Tensor data is read on first use only: a NaN weight passes registration and is refused when loaded.
  const nan = await m.register('nan', adapter('nan', { nan: true }));
  assert.equal(nan.loaded, false);
  await assert.rejects(m.ensureLoaded(nan), refused('LK_ADAPTER', /non-finite/));
  const ok = await m.register('ok', fx.adapters.good, { preload: true });
  assert.equal(ok.loaded, true);
  assert.equal(ok.rank, 4);
});

test('POST /v1/load_lora_adapter answers 400 with the code for each bad adapter', async () => {
  const app = await createServer({ model: fx.base, servedModelName: 'tiny', maxLoraRank: 8 });
  try {
    const load = async (name: string, path: string): Promise<{ status: number; code: string }> => {
      const r = await app.inject({ method: 'POST', url: '/v1/load_lora_adapter', payload: { lora_name: name, lora_path: path } });
      return { status: r.statusCode, code: r.json().error?.code };
    };
    assert.deepEqual(await load('big', bad.big), { status: 400, code: 'LK_ADAPTER' });
    assert.deepEqual(await load('fp', bad.fp), { status: 400, code: 'LK_BASE_MISMATCH' });
    assert.deepEqual(await load('missing', bad.missing), { status: 400, code: 'LK_ADAPTER' });
    assert.deepEqual(await load('nowhere', join(root, 'nowhere')), { status: 400, code: 'LK_ADAPTER' });
    assert.equal((await load('good', fx.adapters.good)).status, 200);
  } finally {
    await app.close();
  }
});
