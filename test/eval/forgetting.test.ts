// Domain gain vs catastrophic forgetting on real text, with the promotion gate deciding.
// A random tiny model says nothing about forgetting (any English text improves it), so the base is first
// "pretrained": a LoRA on every linear layer trained briefly on Brown text outside the held-out files, merged
// into the weights. On that base:
//   - an adapter fine-tuned on State of the Union paragraphs lowers held-out SOTU perplexity (≥ 5%) without
//     hurting held-out Brown perplexity: the gate passes;
//   - an adapter over-fitted to four paragraphs (high learning rate, many epochs, every linear layer) makes
//     held-out Brown text clearly less likely: the forgetting check fails the gate.
// Also: the same suite on the same model twice gives identical numbers, and parity catches a drifting path.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { readBrown } from '../../src/data/corpora/brown.js';
import { readSotu } from '../../src/data/corpora/sotu.js';
import { loadAdapterFor } from '../../src/lora/load.js';
import { writeMergedModel } from '../../src/lora/merge-folder.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { trainAdapter } from '../../src/train/trainer.js';
import { serverParityPath } from '../../src/cli/commands/eval.js';
import {
  type ParityPath, type Suite, evaluate, isBrownHeldOut, isSotuHeldOut, parseSuite, stableReport, writeEvalReport,
} from '../../src/eval/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-eval-forget-'));
let base = '', suite: Suite;
const jsonl = (file: string, texts: readonly string[]): string => {
  writeFileSync(file, texts.map((text) => JSON.stringify({ text })).join('\n'));
  return file;
};
const paragraphs = (text: string): string[] =>
  (text.match(/[^.!?]+[.!?]+(\s+[^.!?]+[.!?]+){0,2}/g) ?? [])
    .map((p) => p.trim())
    .filter((p) => p.length > 80 && p.length < 400);
const train = (model: string, data: string, out: string, o: Record<string, unknown>) =>
  trainAdapter(
    resolveTrainConfig({
      model,
      data,
      out,
      maxLength: 128,
      truncate: true,
      evalFraction: 0,
      seed: 1,
      threads: 1,
      ...o,
    }),
  );

before(async () => {
  // 1. Pretrain: Brown paragraphs from files that are NOT held out (the general suite reads only held-out files).
  const model0 = writeTinyModel(join(tmp, 'random'), { hidden: 64, layers: 2, seed: 3 });
  const brown = readBrown()
    .filter((d) => !isBrownHeldOut(d.id))
    .flatMap((d) => d.text.split('\n'))
    .filter((p) => p.length > 100)
    .map((p) => p.slice(0, 250));
  await train(model0, jsonl(join(tmp, 'brown.jsonl'), brown.slice(0, 3000)), join(tmp, 'pretrain'), {
    rank: 32,
    alpha: 64,
    targetModules: ['all-linear'],
    lr: 1e-2,
    warmupSteps: 10,
    maxSteps: 100,
    batchSize: 16,
  });
  const ck = await loadCheckpoint(model0, { tokenizer: true });
  base = (await writeMergedModel(ck, await loadAdapterFor(ck, join(tmp, 'pretrain')), join(tmp, 'base'))).dir;
  // 2. Domain: SOTU addresses since 1946; held-out years (divisible by 10) for evaluation only.
  const sotu = readSotu({ fromYear: 1946 });
  const domainTrain = sotu.filter((a) => !isSotuHeldOut(a)).flatMap((a) => paragraphs(a.text)).slice(0, 400);
  const domainHeld = sotu.filter(isSotuHeldOut).flatMap((a) => paragraphs(a.text)).slice(0, 60);
  jsonl(join(tmp, 'sotu-held.jsonl'), domainHeld);
  await train(base, jsonl(join(tmp, 'sotu.jsonl'), domainTrain), join(tmp, 'good'), {
    rank: 16,
    targetModules: ['all-linear'],
    lr: 1e-2,
    maxSteps: 80,
    batchSize: 8,
  });
  await train(base, jsonl(join(tmp, 'narrow.jsonl'), domainTrain.slice(0, 4)), join(tmp, 'overfit'), {
    rank: 16,
    targetModules: ['all-linear'],
    lr: 5e-2,
    schedule: 'constant',
    epochs: 40,
    batchSize: 4,
  });
  suite = parseSuite({
    name: 'sotu-test', include: ['general'],
    tasks: [{ name: 'sotu-heldout', type: 'perplexity', tag: 'domain', source: 'sotu-held.jsonl' }],
    gate: { domain_perplexity_drop_pct: 5, max_general_regression_pct: 2 },
  }, 'sotu-test.yaml', tmp);
});

test('a real fine-tune: domain perplexity falls, general perplexity is measured, the gate passes and says so', async () => {
  const { report, items } = await evaluate({ modelDir: base, adapterDir: join(tmp, 'good'), suite, threads: 1, parityPaths: serverParityPath });
  const dom = report.tasks.find((t) => t.name === 'sotu-heldout')!, gen = report.tasks.find((t) => t.name === 'brown-heldout')!;
  assert.ok(dom.delta!.value <= -5, `domain perplexity ${dom.base.value} → ${dom.adapter!.value} (${dom.delta!.value}%)`);
  assert.ok(dom.delta!.ci[1] < 0, 'the domain gain is outside the noise');
  assert.ok(gen.adapter!.value > 1 && gen.regression!.value <= 2, `general perplexity ${gen.base.value} → ${gen.adapter!.value}`);
  assert.equal(report.passed, true, report.gate.reasons.join('\n'));
  assert.deepEqual(report.gate.checks.map((c) => [c.check, c.task, c.passed]), [
    ['domain_perplexity_drop', 'sotu-heldout', true], ['general_regression', 'brown-heldout', true],
    ['general_regression', 'brown-cloze', true], ['parity', null, true],
  ]);
  assert.match(report.summary, /^PASSED: domain perplexity .* → .* \(-\d+\.\d+%\); general perplexity/);
  assert.deepEqual(
    report.parity!.paths.map((p) => [p.name, p.status]),
    [['train', 'reference'], ['adapter', 'ok'], ['merged', 'ok'], ['server', 'ok']],
  );
  assert.ok(report.parity!.paths.every((p) => (p.max_rel_logit_diff ?? 0) < 1e-4 && p.tokens_identical !== false));
  assert.deepEqual(report.tags.map((t) => `${t.tag}/${t.metric}`), ['domain/perplexity', 'general/perplexity', 'general/accuracy']);
  const files = writeEvalReport(join(tmp, 'out-good'), report, items);
  assert.deepEqual(JSON.parse(readFileSync(files.json, 'utf8')), JSON.parse(JSON.stringify(report)));
  assert.match(readFileSync(files.markdown, 'utf8'), /^# Evaluation: sotu-test — PASSED/);
  assert.equal(readFileSync(files.items, 'utf8').trim().split('\n').length, items.length);
  console.log(`# good adapter: ${report.summary}`);
});

test('an adapter over-fitted to a narrow domain fails the forgetting gate (general perplexity rises beyond 2%)', async () => {
  const { report } = await evaluate({ modelDir: base, adapterDir: join(tmp, 'overfit'), suite, threads: 1 });
  const gen = report.tasks.find((t) => t.name === 'brown-heldout')!;
  assert.ok(
    gen.regression!.ci[0] > 2,
    `held-out Brown perplexity ${gen.base.value} → ${gen.adapter!.value} (${gen.regression!.value}%, CI ${gen.regression!.ci})`,
  );
  assert.equal(report.passed, false);
  const failed = report.gate.checks.find((c) => c.check === 'general_regression' && c.task === 'brown-heldout')!;
  assert.equal(failed.passed, false);
  assert.ok(
    report.gate.reasons.some((r) => /general task 'brown-heldout': perplexity rose .* beyond the allowed 2%/.test(r)),
    report.gate.reasons.join('\n'),
  );
  assert.match(report.summary, /^FAILED/);
  console.log(`# over-fit adapter: ${report.summary}`);
});

test('determinism: the same suite on the same model twice gives identical numbers', async () => {
  // Two onnxruntime threads, so that the check covers multi-threaded kernels too.
  const a = await evaluate({ modelDir: base, adapterDir: join(tmp, 'good'), suite, threads: 2 });
  const b = await evaluate({ modelDir: base, adapterDir: join(tmp, 'good'), suite, threads: 2 });
  assert.deepEqual(stableReport(b.report), stableReport(a.report));
  assert.deepEqual(b.items, a.items);
  // A different bootstrap seed moves the intervals, never the point estimates.
  const c = await evaluate({ modelDir: base, adapterDir: join(tmp, 'good'), suite, threads: 2, seed: 5 });
  assert.deepEqual(c.report.tasks.map((t) => t.adapter!.value), a.report.tasks.map((t) => t.adapter!.value));
  assert.notDeepEqual(c.report.tasks.map((t) => t.delta!.ci), a.report.tasks.map((t) => t.delta!.ci));
});

test('parity: a merge rounded to bfloat16 and a serving path that changes tokens block promotion; a missing path is listed', async () => {
  const small = parseSuite({
    name: 'parity-test', tasks: [{ name: 'sotu-heldout', type: 'perplexity', tag: 'domain', source: 'sotu-held.jsonl', max_items: 5 }],
    parity: { merged_dtype: 'BF16', max_new_tokens: 8 },
  }, 'parity-test.yaml', tmp);
  // A fake server that answers with the adapter's greedy tokens but one token changed (no logits exposed).
  const liar = (inner: ParityPath): ParityPath => ({
    name: 'server', description: 'test server',
    async run(probes, n) {
      const r = await inner.run(probes, n);
      return { tokens: r.tokens.map((t, i) => (i === 1 ? [...t.slice(0, 3), (t[3] + 1) % 256, ...t.slice(4)] : t)) };
    },
  });
  const { report } = await evaluate({
    modelDir: base, adapterDir: join(tmp, 'good'), suite: small, threads: 1,
    parityPaths: async (ctx) => {
      const { decodePath } = await import('../../src/eval/parity.js');
      const { CausalLM } = await import('../../src/models/causal-lm.js');
      const lm = new CausalLM(ctx.base.config, ctx.base.weights, ctx.base.shapes, { threads: 1 });
      return { paths: [liar(decodePath('inner', '', lm, ctx.adapter.binding))], missing: [{ name: 'remote', reason: 'not configured' }] };
    },
  });
  const byName = Object.fromEntries(report.parity!.paths.map((p) => [p.name, p]));
  assert.equal(byName.adapter.status, 'ok');
  assert.equal(byName.merged.status, 'drift');
  assert.ok(byName.merged.max_rel_logit_diff! > 1e-4, `bf16 merge differs by ${byName.merged.max_rel_logit_diff}`);
  assert.equal(byName.server.status, 'drift');
  assert.equal(byName.server.max_rel_logit_diff, undefined);
  assert.deepEqual(byName.server.probes!.map((p) => p.first_token_mismatch), [null, 3, null, null, null, null]);
  assert.deepEqual([byName.remote.status, byName.remote.reason], ['missing', 'not configured']);
  assert.equal(report.parity!.passed, false);
  assert.equal(report.passed, false);
  assert.match(report.gate.reasons.join('\n'), /parity broken: merged: .*logits differ .*server: greedy tokens differ \(probe 1, position 3\)/);
  assert.ok(existsSync(join(tmp, 'good', 'adapter_model.safetensors')));
});
