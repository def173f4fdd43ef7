// A populated LORAKIT_HOME for the dashboard tests: three runs with curves, a base, adapters with eval
// reports and an alias.
import { join } from 'node:path';
import { Registry } from '../../src/registry/index.js';
import { Tracker } from '../../src/track/index.js';
import { makeAdapter, makeBase, tmp } from '../registry/helpers.js';

export interface Populated { readonly root: string; readonly tracker: Tracker; readonly registry: Registry; readonly runIds: string[] }

export async function populate(): Promise<Populated> {
  const root = tmp('lk-ui-');
  const home = join(root, 'home');
  const tracker = await Tracker.open(home);
  const registry = Registry.open(home);
  const base = await registry.addBase(makeBase(join(root, 'base')), { name: 'tiny-llama' });
  const runIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const run = await tracker.startRun({
      kind: 'train',
      name: `lr-${i}`,
      config: { lr: [1e-3, 3e-4, 1e-4][i], lora: { r: 8 } },
      lineage: { baseFingerprint: base.fingerprint, datasetFingerprint: 'd'.repeat(64) },
    });
    for (let s = 0; s <= 200; s += 5) run.logMetrics(s, { loss: 3 * Math.exp(-s / (60 + 40 * i)) + 0.5, lr: 1e-3 });
    for (let s = 50; s <= 200; s += 50) run.logMetrics(s, { eval_loss: 3 * Math.exp(-s / (70 + 40 * i)) + 0.7 });
    await run.finish(i === 2 ? 'failed' : 'finished');
    runIds.push(run.id);
    const { version } = await registry.addAdapter(
      makeAdapter(join(root, `ad${i}`), { seed: i + 1, baseFingerprint: base.fingerprint, runId: run.id }),
      { name: 'support' },
    );
    await tracker.updateLineage(run.id, { adapterVersion: version.ref });
  }
  const v2 = await registry.resolve('support@v2');
  const fingerprints = { model: { fingerprint: base.fingerprint }, adapter: { fingerprint: v2.fingerprint } };
  await registry.addEvalReport('support@v2', { suite: 'smoke', passed: true, score: 0.93, ...fingerprints });
  await registry.setAlias('support@v1', 'production', { by: 'alice', reason: 'first' });
  await registry.setAlias('support@v2', 'production', { by: 'bob', reason: 'smoke passed', requireSuite: 'smoke' });
  await registry.addAdapter(makeAdapter(join(root, 'other'), { seed: 9, baseFingerprint: 'f'.repeat(64) }), { name: 'orphan' });
  return { root, tracker, registry, runIds };
}
