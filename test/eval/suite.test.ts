// Suites, sources, scorers, statistics and the gate, each checked on its own: suite files validated in one pass
// (every problem listed), bundled suites and held-out selectors, answer matching, percentile intervals, the
// paired bootstrap, gate decisions (point and CI), and the scorers against direct CausalLM computations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { isLorakitError } from '../../src/errors.js';
import { readBrown } from '../../src/data/corpora/brown.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { generate } from '../../src/models/generate.js';
import { perplexity } from '../../src/models/perplexity.js';
import {
  brownCloze, brownHeldOutIds, decideGate, evaluate, gateDefaults, isBrownHeldOut, isSotuHeldOut, loadChoiceItems, loadSuite, matchAnswer, parseSuite,
  percentileInterval, scoreChoices, scoreTexts, summarize, type TaskData, type TaskResult,
} from '../../src/eval/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-eval-unit-'));

test('a YAML suite parses with defaults; relative sources resolve against the suite file', () => {
  const file = join(tmp, 'suite.yaml');
  writeFileSync(file, [
    'name: support-v1',
    'tasks:',
    '  - { name: dom, type: perplexity, tag: domain, source: data/held.jsonl, window: 64 }',
    '  - { name: qa, type: generation, tag: domain, source: data/qa.jsonl, match: numeric, tolerance: 0.5 }',
    '  - { name: mc, type: choice, tag: general, items: [{ context: "The sky is", choices: [blue, green], answer: 0 }] }',
    'include: [general]',
    'gate: { domain_perplexity_drop_pct: 5, max_general_regression_pct: 2, decide_on: ci }',
  ].join('\n'));
  const s = loadSuite(file);
  assert.equal(s.name, 'support-v1');
  assert.deepEqual(
    s.tasks.map((t) => [t.name, t.type, t.tag]),
    [
      ['dom', 'perplexity', 'domain'], ['qa', 'generation', 'domain'], ['mc', 'choice', 'general'],
      ['brown-heldout', 'perplexity', 'general'], ['brown-cloze', 'choice', 'general'],
    ],
  );
  assert.equal(s.baseDir, tmp);
  assert.deepEqual(s.gate, { ...gateDefaults, domainPerplexityDropPct: 5, maxGeneralRegressionPct: 2, decideOn: 'ci' });
  const qa = s.tasks[1];
  assert.ok(qa.type === 'generation' && qa.match === 'numeric' && qa.tolerance === 0.5 && qa.maxNewTokens === 32 && qa.stop[0] === '\n');
  assert.equal(s.bootstrap, 1000);
  assert.equal(s.parity.tolerance, 1e-4);
});

test('an invalid suite is refused with every problem listed (unknown keys, bad values, duplicates)', () => {
  const raw = {
    name: 'bad suite', colour: 'red',
    tasks: [
      { name: 'a', type: 'perplexity', tag: 'domain', source: 'x.txt', window: 16, stride: 32 },
      { name: 'a', type: 'generation', tag: 'domian', source: 'q.jsonl', match: 'fuzzy' },
      { name: 'c', type: 'choice', tag: 'general' },
    ],
    gate: { domain_ppl_drop: 5 },
  };
  assert.throws(() => parseSuite(raw, 'bad.yaml', tmp), (e: unknown) => {
    if (!isLorakitError(e, 'LK_EVAL')) return false;
    const p = (e.details as { problems: string[] }).problems;
    for (const needle of [
      "name: 'bad suite'", 'colour: unknown key', 'tasks[0].stride', 'tasks[1].tag', 'tasks[1].match',
      'tasks[2].source', "task name 'a' is used twice", 'gate.domain_ppl_drop: unknown key',
    ]) {
      assert.ok(p.some((x) => x.includes(needle)), `missing problem '${needle}' in ${JSON.stringify(p)}`);
    }
    return e.message.startsWith('bad.yaml: invalid evaluation suite');
  });
  assert.throws(() => loadSuite(join(tmp, 'nope.yaml')), (e: unknown) => isLorakitError(e, 'LK_EVAL'));
});

test('bundled suites: general (held-out Brown) and sotu (domain + general) parse; selectors pick held-out text', () => {
  const g = loadSuite('general');
  assert.deepEqual(g.tasks.map((t) => t.name), ['brown-heldout', 'brown-cloze']);
  assert.ok(g.tasks.every((t) => t.tag === 'general'));
  const s = loadSuite('sotu');
  assert.deepEqual(s.tasks.map((t) => `${t.tag}:${t.name}`), ['domain:sotu-heldout', 'general:brown-heldout', 'general:brown-cloze']);
  assert.equal(s.gate.domainPerplexityDropPct, 5);
  const ids = brownHeldOutIds();
  assert.equal(ids.length, readBrown().filter((d) => isBrownHeldOut(d.id)).length);
  assert.ok(ids.length >= 40 && ids.every((id) => /0$/.test(id)), ids.join(','));
  assert.ok(isSotuHeldOut({ year: 1990 }) && !isSotuHeldOut({ year: 1991 }));
});

test('the Brown cloze is deterministic, built from held-out files only, 4 distinct choices with the true ending', () => {
  const a = brownCloze(100), b = brownCloze(100);
  assert.deepEqual(a, b);
  assert.equal(a.length, 100);
  const held = readBrown().filter((d) => isBrownHeldOut(d.id)).map((d) => d.text).join('\n');
  for (const it of a) {
    assert.equal(new Set(it.choices).size, 4);
    assert.ok(held.includes(`${it.context} ${it.choices[it.answer]}`), `'${it.context} ${it.choices[it.answer]}' is not held-out text`);
  }
  // The answer position is shuffled, not always first.
  assert.ok(new Set(a.map((x) => x.answer)).size === 4);
});

test('answer matching: exact, contains, regex, numeric', () => {
  const rule = (match: 'exact' | 'contains' | 'regex' | 'numeric', tolerance = 1e-6, caseSensitive = false) => ({ match, tolerance, caseSensitive });
  const cases: [string, string[], ReturnType<typeof rule>, boolean][] = [
    ['  Paris ', ['paris'], rule('exact'), true],
    ['Paris', ['paris'], rule('exact', 0, true), false],
    ['It is Paris, France', ['paris'], rule('exact'), false],
    ['It is Paris, France', ['paris'], rule('contains'), true],
    ['answer: 42.', ['^answer: \\d+'], rule('regex'), true],
    ['The total is 1,234.5 dollars', ['1234.4'], rule('numeric', 0.2), true],
    ['The total is 1,234.5 dollars', ['1234'], rule('numeric', 0.2), false],
    ['no number here', ['0'], rule('numeric', 1), false],
    ['-3e2', ['-300'], rule('numeric'), true],
    ['Rome', ['Paris', 'Rome'], rule('exact'), true],
  ];
  for (const [out, exp, r, want] of cases)
    assert.equal(matchAnswer(out, exp, r), want, `${JSON.stringify(out)} vs ${JSON.stringify(exp)} (${r.match})`);
});

test('percentile intervals and the paired bootstrap: identical models give a zero delta; seeded and order-free', () => {
  const pi = percentileInterval(Array.from({ length: 101 }, (_, i) => 101 - i), 0.95);
  assert.ok(Math.abs(pi[0] - 3.5) < 1e-9 && Math.abs(pi[1] - 98.5) < 1e-9, String(pi));
  const task = (name: string, tag: 'domain' | 'general') =>
    ({
      name,
      tag,
      type: 'perplexity',
      source: { kind: 'inline', items: [] },
      maxItems: null,
      gated: true,
      maxRegressionPct: null,
      window: null,
      stride: null,
      maxTokensPerDocument: null,
      maxTokens: null,
      unit: null,
    }) as const;
  const nll = Float64Array.from({ length: 30 }, (_, i) => 50 + (i % 7) * 3), tokens = Float64Array.from({ length: 30 }, () => 20);
  const worse = nll.map((x) => x * 1.1);
  const d1: TaskData = {
    task: task('same', 'general'),
    detail: '',
    base: { metric: 'perplexity', nll, tokens },
    adapter: { metric: 'perplexity', nll, tokens },
    extra: {},
    scoredTokens: 600,
  };
  const d2: TaskData = {
    task: task('worse', 'general'),
    detail: '',
    base: { metric: 'perplexity', nll, tokens },
    adapter: { metric: 'perplexity', nll: worse, tokens },
    extra: {},
    scoredTokens: 600,
  };
  const r = summarize([d1, d2], { bootstrap: 200, seed: 7, confidence: 0.95 });
  assert.deepEqual([r.tasks[0].delta!.value, ...r.tasks[0].delta!.ci], [0, 0, 0]);
  assert.ok(r.tasks[1].delta!.ci[0] > 0 && r.tasks[1].regression!.value > 0);
  assert.equal(r.tags.length, 1);
  assert.ok(r.tags[0].delta!.value > 0 && r.tags[0].delta!.value < r.tasks[1].delta!.value);
  // Each task's resampling depends on the seed and its name, not on its position.
  const swapped = summarize([d2, d1], { bootstrap: 200, seed: 7, confidence: 0.95 });
  assert.deepEqual(swapped.tasks[0], r.tasks[1]);
  assert.notDeepEqual(summarize([d2], { bootstrap: 200, seed: 8, confidence: 0.95 }).tasks[0].base.ci, r.tasks[1].base.ci);
});

test('the gate: domain drop, general regression (per-task limit), decided on points or on CI bounds', () => {
  const t = (name: string, tag: 'domain' | 'general', metric: 'perplexity' | 'accuracy', d: number,
    ci: [number, number], limit: number | null = null): TaskResult => ({
    name, type: metric === 'perplexity' ? 'perplexity' : 'choice', tag, metric, metric_detail: '', items: 10, scored_tokens: null,
    base: { value: 10, ci: [9, 11] }, adapter: { value: 10, ci: [9, 11] }, delta: { value: d, ci, unit: metric === 'perplexity' ? 'pct' : 'pts' },
    regression: metric === 'perplexity' ? { value: d, ci } : { value: -d, ci: [-ci[1], -ci[0]] }, extra: {}, gated: true, max_regression_pct: limit,
  });
  const tasks = [
    t('dom', 'domain', 'perplexity', -6, [-8, -4]),
    t('gen', 'general', 'perplexity', 3, [-1, 6]),
    t('mc', 'general', 'accuracy', -4, [-9, 1], 5),
  ];
  const spec = { ...gateDefaults, domainPerplexityDropPct: 5, maxGeneralRegressionPct: 2, requireParity: false };
  const point = decideGate(spec, tasks, null, true);
  assert.deepEqual(point.checks.map((c) => [c.task, c.passed]), [['dom', true], ['gen', false], ['mc', true]]);
  assert.equal(point.passed, false);
  assert.equal(point.reasons.length, 1);
  assert.match(point.reasons[0], /'gen'.*rose 3\.00%.*beyond the allowed 2%/);
  // CI: the domain drop must hold at its worst bound (4% < 5%: fail); a general regression fails only when even
  // its best bound exceeds the limit (-1% ≤ 2%: pass).
  const ci = decideGate({ ...spec, decideOn: 'ci' }, tasks, null, true);
  assert.deepEqual(ci.checks.map((c) => [c.task, c.passed]), [['dom', false], ['gen', true], ['mc', true]]);
  const noParity = decideGate({ ...spec, requireParity: true }, tasks.slice(0, 1), null, true);
  assert.deepEqual(noParity.checks.map((c) => [c.check, c.passed]), [['domain_perplexity_drop', true], ['parity', false]]);
  assert.equal(decideGate(spec, tasks, null, false).applied, false);
});

const model = writeTinyModel(join(tmp, 'model'), { hidden: 32, seed: 11 });

test('scoreTexts sums to models/perplexity.ts; scoreChoices equals Σ log p of the continuation tokens', async () => {
  const base = await loadCheckpoint(model, { tokenizer: true });
  const lm = new CausalLM(base.config, base.weights, base.shapes, { threads: 1 });
  const tok = base.tokenizer!;
  const ids = tok.encode('The jury said it did find that many of the registration and election laws were outmoded. '.repeat(3));
  const ref = await perplexity(lm, ids, { window: 64, stride: 24 });
  const w = await scoreTexts(lm, [ids], { window: 64, stride: 24, batchSize: 3 });
  const nll = w.reduce((a, x) => a + x.nll, 0), n = w.reduce((a, x) => a + x.tokens, 0);
  assert.equal(n, ref.scored);
  assert.ok(Math.abs(nll / n - ref.nll) < 1e-5, `${nll / n} vs ${ref.nll}`);

  const items = [{ context: 'The sky is ', choices: ['blue', 'a very long green answer'], answer: 0 }];
  const [s] = await scoreChoices(lm, tok, items, { delimiter: '' });
  for (let j = 0; j < 2; j++) {
    // Harness rule: the trailing space moves into the continuation.
    const ctx = tok.encode('The sky is'), whole = tok.encode('The sky is ' + items[0].choices[j]);
    const r = await lm.score([whole]);
    let ll = 0;
    for (let t = ctx.length - 1; t < whole.length - 1; t++) ll += r.tokenLogprobs[t];
    assert.ok(Math.abs(ll - s.lls[j]) < 1e-4, `choice ${j}: ${ll} vs ${s.lls[j]}`);
  }
  const lens = [' blue'.length, ' a very long green answer'.length];
  assert.equal(s.pred, s.lls[0] >= s.lls[1] ? 0 : 1);
  assert.equal(s.predNorm, s.lls[0] / lens[0] >= s.lls[1] / lens[1] ? 0 : 1);
});

test('generation and choice tasks through evaluate(): base only, no gate; bad rows named with file:line', async () => {
  const base = await loadCheckpoint(model, { tokenizer: true });
  const lm = new CausalLM(base.config, base.weights, base.shapes, { threads: 1 });
  const prompts = ['Q: 2+2?', 'The cat'];
  const g = await generate(
    lm,
    prompts.map((p) => base.tokenizer!.encode(p)),
    {
      maxNewTokens: 6,
      temperature: 0,
      eosTokenIds: base.tokenizer!.eosTokenIds,
      decode: (x) => base.tokenizer!.decode(x, { skipSpecialTokens: true }),
    },
  );
  const items = [{ prompt: prompts[0], expected: g.text![0] }, { prompt: prompts[1], expected: 'certainly not this' }];
  const suite = parseSuite({
    name: 'unit', tasks: [
      { name: 'gen', type: 'generation', tag: 'domain', items, match: 'exact', max_new_tokens: 6, stop: [] },
      { name: 'mc', type: 'choice', tag: 'general', items: [{ question: 'A', choices: ['b', 'c'], answer: 'c' }] },
    ],
  }, 'unit', tmp);
  const { report, items: rows } = await evaluate({ modelDir: model, suite, threads: 1 });
  assert.equal(report.tasks[0].base.value, 50);
  assert.equal(report.tasks[0].adapter, null);
  assert.equal(report.gate.applied, false);
  assert.equal(report.passed, false); // base only: nothing was promoted, so nothing passed (issue 13)
  assert.equal(report.parity, null);
  assert.deepEqual(rows.filter((r) => r.task === 'gen').map((r) => r.base.correct), [true, false]);
  assert.ok(report.summary.startsWith('base only'));

  const bad = join(tmp, 'bad.jsonl');
  writeFileSync(
    bad,
    ['{"context": "x", "choices": ["a", "b"], "answer": 1}', '{"context": "x", "choices": ["a"], "answer": 0}', 'not json'].join('\n'),
  );
  const s2 = parseSuite({ name: 'bad', tasks: [{ name: 'mc', type: 'choice', tag: 'general', source: 'bad.jsonl' }] }, 'bad', tmp);
  assert.throws(() => loadChoiceItems(s2, s2.tasks[0]), (e: unknown) => isLorakitError(e, 'LK_EVAL') && e.message.includes(`${bad}:3`));
  writeFileSync(
    bad,
    [
      '{"context": "x", "choices": ["a", "b"], "answer": 1}',
      '{"context": "x", "choices": ["a"], "answer": 0}',
      '{"context": "x", "choices": ["a", "b"], "answer": "z"}',
    ].join('\n'),
  );
  assert.throws(
    () => loadChoiceItems(s2, s2.tasks[0]),
    (e: unknown) =>
      isLorakitError(e, 'LK_EVAL') &&
      e.message.includes(`${bad}:2`) &&
      e.message.includes(`${bad}:3`) &&
      !e.message.includes(`${bad}:1`),
  );
});
