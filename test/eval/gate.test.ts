// The promotion gate cannot pass vacuously (issue 13): an adapter that changes nothing fails the default gate on
// the bundled base, a suite without a gated domain task (or with no items) fails or is refused, and a parity path
// that could not run makes the result not passed, with its reason in the report.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverParityPath } from '../../src/cli/commands/eval.js';
import { isLorakitError } from '../../src/errors.js';
import { type ParityContext, type TaskResult, decideGate, evaluate, gateDefaults, parseSuite, runParity } from '../../src/eval/index.js';
import { parseLoraConfig } from '../../src/lora/config.js';
import { initLoraTensors } from '../../src/lora/init.js';
import { writeAdapter } from '../../src/lora/peft-io.js';
import { resolveSites } from '../../src/lora/targets.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { fingerprintModelDir } from '../../src/models/fingerprint.js';
import { linearModules } from '../../src/models/modules.js';

const BASE = 'models/brown-llama';
const tmp = mkdtempSync(join(tmpdir(), 'lk-gate-'));
const zeroB = join(tmp, 'zero-b');

before(async () => {
  // A PEFT adapter as PEFT initialises one: A random, every B all zeros, so base + adapter = base exactly.
  const base = await loadCheckpoint(BASE, { tokenizer: false });
  const cfg = parseLoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'] }, 'test', ['q_proj', 'v_proj']);
  const tensors = initLoraTensors(resolveSites(cfg, linearModules(base.config)), true, 0);
  for (const [name, t] of tensors) if (name.includes('lora_B')) assert.ok(t.data.every((x) => x === 0), name);
  writeAdapter(zeroB, { config: cfg, tensors }, { base_fingerprint: (await fingerprintModelDir(BASE)).fingerprint });
});

type Metric = 'perplexity' | 'accuracy';
const task = (name: string, tag: 'domain' | 'general', metric: Metric, d: number, ci: [number, number], o: Partial<TaskResult> = {}): TaskResult => ({
  name, type: metric === 'perplexity' ? 'perplexity' : 'choice', tag, metric, metric_detail: '', items: 10, scored_tokens: null,
  base: { value: 10, ci: [9, 11] }, adapter: { value: 10, ci: [9, 11] }, delta: { value: d, ci, unit: metric === 'perplexity' ? 'pct' : 'pts' },
  regression: metric === 'perplexity' ? { value: d, ci } : { value: -d, ci: [-ci[1], -ci[0]] },
  extra: {}, gated: true, max_regression_pct: null, ...o,
});
const noParity = { ...gateDefaults, requireParity: false };

test('an adapter whose B matrices are all zero fails the default gate of a one-task domain suite on the bundled base', async () => {
  const suite = parseSuite({
    name: 'zero-b',
    tasks: [{ name: 'domain', type: 'perplexity', tag: 'domain', source: { builtin: 'sotu-heldout' }, max_items: 4, max_tokens_per_document: 128 }],
    parity: { max_new_tokens: 2, probes: ['The people'] },
  }, 'zero-b.yaml', tmp);
  assert.deepEqual(suite.gate, gateDefaults);
  const { report } = await evaluate({ modelDir: BASE, adapterDir: zeroB, suite, threads: 1, parityPaths: serverParityPath });
  const t = report.tasks[0];
  assert.equal(t.adapter!.value, t.base.value, 'base + zero-B adapter scores exactly as the base');
  assert.deepEqual([t.delta!.value, ...t.delta!.ci], [0, 0, 0]);
  assert.equal(report.parity!.passed, true, 'the paths agree; only the gain is missing');
  assert.equal(report.passed, false, report.summary);
  assert.match(report.summary, /^FAILED: domain perplexity .* \(\+0\.00%\)/);
  assert.deepEqual(report.gate.checks.map((c) => [c.check, c.passed]), [['domain_perplexity_drop', false], ['parity', true]]);
  assert.match(report.gate.reasons[0], /domain perplexity of 'domain' did not change .*needs to fall by at least 1%, with an interval that excl/);
});

test('the default gate wants a real domain gain: a minimum change AND an interval that excludes zero', () => {
  // Zero change, for perplexity and for accuracy.
  for (const t of [task('d', 'domain', 'perplexity', 0, [0, 0]), task('d', 'domain', 'accuracy', 0, [0, 0])]) {
    const g = decideGate(noParity, [t], null, true);
    assert.deepEqual([g.passed, g.checks.map((c) => c.passed)], [false, [false]], t.metric);
  }
  // Big enough on the point estimate, but the interval reaches a rise: not a real gain.
  const noisy = decideGate(noParity, [task('d', 'domain', 'perplexity', -6, [-12, 0.5])], null, true);
  assert.equal(noisy.passed, false);
  assert.match(noisy.reasons[0], /interval of the change reaches 0\.50%/);
  // Real, but below the 1% minimum.
  assert.equal(decideGate(noParity, [task('d', 'domain', 'perplexity', -0.5, [-0.8, -0.2])], null, true).passed, false);
  // One item has no interval to speak of.
  assert.equal(decideGate(noParity, [task('d', 'domain', 'perplexity', -6, [-6, -6], { items: 1 })], null, true).passed, false);
  // A real gain passes; so does an accuracy gain whose interval stays above zero.
  assert.equal(decideGate(noParity, [task('d', 'domain', 'perplexity', -6, [-9, -3])], null, true).passed, true);
  assert.equal(decideGate(noParity, [task('d', 'domain', 'accuracy', 5, [2, 8])], null, true).passed, true);
  // Turning the interval rule off needs positive margins, else a no-op adapter would pass.
  const tasks = [{ name: 'd', type: 'perplexity', tag: 'domain', source: 'x.txt' }];
  const loose = (gate: Record<string, unknown>) => () => parseSuite({ name: 's', tasks, gate }, 's.yaml', tmp);
  assert.throws(loose({ require_significant_gain: false, domain_perplexity_drop_pct: 0 }),
    (e: unknown) => isLorakitError(e, 'LK_EVAL') && /require_significant_gain/.test(e.message));
  const margins = { require_significant_gain: false, domain_perplexity_drop_pct: 2, domain_accuracy_gain_pts: 1 };
  assert.equal(loose(margins)().gate.requireSignificantGain, false);
});

test('a measured path (a QLoRA adapter merged into float weights) reports its drift and does not fail the gate', async () => {
  const logits = (x: number) => async (probes: readonly (readonly number[])[]) => ({
    lastLogits: probes.map(() => Float32Array.of(1, x)), tokens: probes.map(() => [x > 3 ? 2 : 1]),
  });
  const ref = { name: 'train', description: '', run: logits(2) };
  const merged = { name: 'merged', description: '', run: logits(4), expectDrift: 'a int4-b32-sym-acc8 adapter merged into full-precision weights' };
  const parity = await runParity([ref, merged], [], ['p'], [[1]], { maxNewTokens: 1, tolerance: 1e-4 });
  assert.deepEqual(parity.paths.map((p) => [p.name, p.status]), [['train', 'reference'], ['merged', 'measured']]);
  const g = decideGate(gateDefaults, [task('d', 'domain', 'perplexity', -9, [-12, -6])], parity, true);
  assert.equal(g.passed, true, g.reasons.join('\n'));
  const check = g.checks.find((c) => c.check === 'parity')!;
  assert.equal(check.value, 0, 'the measured drift is not the gated figure');
  assert.match(check.message, /measured, not gated: merged \(a int4-b32-sym-acc8 adapter merged into full-precision weights: greedy tokens differ/);
  // The same drift on a path that is not expected to drift fails.
  const { expectDrift: _, ...plain } = merged;
  const broken = await runParity([ref, plain], [], ['p'], [[1]], { maxNewTokens: 1, tolerance: 1e-4 });
  assert.equal(decideGate(gateDefaults, [task('d', 'domain', 'perplexity', -9, [-12, -6])], broken, true).passed, false);
});

test('parity: a path that takes the reference\'s runner-up within the near-tie gap agrees up to there; beyond it, it drifts', async () => {
  // The reference picked 7 at step 1, with 9 behind it by 5e-4 of the largest |logit|.
  const ref = {
    name: 'train', description: '',
    run: async () => ({
      lastLogits: [Float32Array.of(1, 2)], tokens: [[3, 7, 4]], runnersUp: [[{ id: 5, gap: 0.5 }, { id: 9, gap: 5e-4 }, { id: 1, gap: 0.2 }]],
    }),
  };
  const path = (tokens: number[]) => ({
    name: 'adapter', description: '', run: async () => ({ lastLogits: [Float32Array.of(1, 2)], tokens: [tokens] }),
  });
  const status = async (tokens: number[], nearTieGap?: number) =>
    (await runParity([ref, path(tokens)], [], ['p'], [[1]], { maxNewTokens: 3, tolerance: 1e-4, nearTieGap })).paths[1];
  const tie = await status([3, 9, 8], 1e-3);
  assert.equal(tie.status, 'ok');
  assert.equal(tie.probes![0].near_tie, 1);
  assert.match(tie.reason!, /near tie \(probe 0, position 1/);
  assert.equal((await status([3, 9, 8])).status, 'drift', 'a 5e-4 gap is beyond the default gap (the 1e-4 tolerance)');
  assert.equal((await status([3, 6, 8], 1e-3)).status, 'drift', 'not the runner-up');
  assert.equal((await status([5, 7, 4], 1e-3)).status, 'drift', 'the runner-up, but far behind');
});

test('a suite with no gated domain task, or whose domain tasks have no items, never passes; an empty task is refused', async () => {
  const general = task('g', 'general', 'perplexity', -1, [-2, 0]);
  for (const [label, tasks] of [
    ['no tasks', []], ['general only', [general]],
    ['domain not gated', [task('d', 'domain', 'perplexity', -9, [-12, -6], { gated: false }), general]],
    ['domain without items', [task('d', 'domain', 'perplexity', -9, [-12, -6], { items: 0 }), general]],
  ] as [string, TaskResult[]][]) {
    const g = decideGate(noParity, tasks, null, true);
    assert.equal(g.passed, false, label);
    assert.equal(g.checks[0].check, 'domain_coverage', label);
    assert.match(g.reasons[0], /cannot show that the adapter improves anything/, label);
  }
  // A task whose source holds no rows is refused before anything is scored.
  writeFileSync(join(tmp, 'empty.jsonl'), '');
  const suite = parseSuite({ name: 'empty', tasks: [{ name: 'qa', type: 'generation', tag: 'domain', source: 'empty.jsonl' }] }, 'empty.yaml', tmp);
  await assert.rejects(evaluate({ modelDir: BASE, adapterDir: zeroB, suite, threads: 1 }),
    (e: unknown) => isLorakitError(e, 'LK_EVAL') && /has no items/.test(e.message));
  // Base only: nothing was promoted, so nothing passed.
  assert.equal(decideGate(gateDefaults, [task('d', 'domain', 'perplexity', -9, [-12, -6])], null, false).passed, false);
});

test('a parity path that could not run makes the result not passed, and says why', async () => {
  const ref = {
    name: 'train', description: '',
    run: async (probes: readonly (readonly number[])[]) => ({ lastLogits: probes.map(() => Float32Array.of(1, 2)), tokens: probes.map(() => [1]) }),
  };
  const missing = [{ name: 'server', reason: 'src/serve could not be loaded: boom' }];
  const parity = await runParity([ref], missing, ['p'], [[1]], { maxNewTokens: 1, tolerance: 1e-4 });
  assert.equal(parity.passed, false);
  const g = decideGate(gateDefaults, [task('d', 'domain', 'perplexity', -9, [-12, -6])], parity, true);
  assert.equal(g.passed, false);
  assert.deepEqual(g.checks.map((c) => [c.check, c.passed]), [['domain_perplexity_drop', true], ['parity', false]]);
  assert.match(g.reasons[0], /parity broken: server \(could not run\): src\/serve could not be loaded: boom/);
  // The CLI's server path reports an import failure, and a server that cannot start, as a path that could not run.
  const base = await loadCheckpoint(BASE, { tokenizer: true });
  const ctx = { modelDir: BASE, adapterDir: zeroB, base } as unknown as ParityContext;
  const noImport = await serverParityPath(ctx, () => Promise.reject(new Error('Cannot find module server.js')));
  assert.deepEqual(noImport, { paths: [], missing: [{ name: 'server', reason: 'src/serve could not be loaded: Cannot find module server.js' }] });
  const noStart = await serverParityPath(ctx, async () => ({ createServer: () => Promise.reject(new Error('port in use')) }));
  assert.deepEqual(noStart.missing, [{ name: 'server', reason: 'the server could not start: port in use' }]);
  // Through evaluate(): the report records the path as missing, parity as broken, and the gate as failed.
  const suite = parseSuite({ name: 'p',
    tasks: [{ name: 'domain', type: 'perplexity', tag: 'domain', source: { builtin: 'sotu-heldout' }, max_items: 2, max_tokens_per_document: 64 }],
    parity: { max_new_tokens: 2, probes: ['The people'] } }, 'p.yaml', tmp);
  const gone = (c: ParityContext) => serverParityPath(c, () => Promise.reject(new Error('gone')));
  const { report } = await evaluate({ modelDir: BASE, adapterDir: zeroB, suite, threads: 1, parityPaths: gone });
  const statuses = [['train', 'reference'], ['adapter', 'ok'], ['merged', 'ok'], ['server', 'missing']];
  assert.deepEqual(report.parity!.paths.map((p) => [p.name, p.status]), statuses);
  assert.equal(report.parity!.passed, false);
  assert.equal(report.gate.checks.find((c) => c.check === 'parity')!.passed, false);
  const why = /server \(could not run\): src\/serve could not be loaded: gone/;
  assert.ok(report.gate.reasons.some((r) => why.test(r)), report.gate.reasons.join('\n'));
  assert.match(report.summary, /parity BROKEN/);
  // A parity-path factory that throws is recorded the same way instead of aborting the evaluation.
  const thrown = await evaluate({ modelDir: BASE, adapterDir: zeroB, suite, threads: 1, parityPaths: () => Promise.reject(new Error('no socket')) });
  assert.equal(thrown.report.parity!.passed, false);
  assert.match(thrown.report.gate.reasons.join('\n'), /could not be built: no socket/);
});
