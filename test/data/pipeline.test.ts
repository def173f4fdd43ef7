// The pipeline end to end on crafted records: each filter, exact and near duplicates, PII redaction, a
// deterministic split that never separates a near-duplicate cluster, and atomic outputs when a run fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { curate } from '../../src/data/index.js';
import { Rng } from '../../src/util/rng.js';
import { readJsonl, tempDir } from './helpers.js';

const VOCAB = ('time year people way day man thing woman life child world school state family student group country problem ' +
  'hand part place case week company system program question work government number night point home water room ' +
  'mother area money story fact month lot right study book eye job word business issue side kind head house ' +
  'service friend father power hour game line end member law car city community name president team minute').split(' ');
const STOP = 'the of and to a in is it that for on was with as'.split(' ');

/** An English-looking sentence sequence: content words interleaved with stop words. */
function prose(rng: Rng, words: number): string {
  const w: string[] = [];
  for (let i = 0; i < words; i++) w.push(i % 3 === 1 ? STOP[rng.int(STOP.length)] : VOCAB[rng.int(VOCAB.length)]);
  return w.join(' ') + '.';
}

function write(file: string, rows: unknown[]): void {
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

test('each quality filter removes its record, named in removed.jsonl', async () => {
  const dir = tempDir();
  const rng = new Rng(1);
  const file = join(dir, 'in.jsonl');
  write(file, [
    { text: prose(rng, 60) },                                                     // 1 kept
    { text: 'ok' },                                                               // 2 min_tokens
    { text: prose(rng, 400) },                                                    // 3 max_tokens
    { text: '$$$ ### 1234 5678 9012 %%% &&& *** !!! ??? 42 17 99 +++ === ~~~' },  // 4 char_mix
    { text: 'le chat est sur la table et le chien dort dans le jardin pendant que les enfants jouent avec une balle ' +
      'rouge sous le soleil chaud de midi' },                                     // 5 language
    { text: Array.from({ length: 8 }, () => 'Click here to win a prize of the year').join('\n') }, // 6 repetition_lines
    { text: Array.from({ length: 12 }, () => 'buy the time of the people').join(' and ') },   // 7 repetition_ngrams
    { text: 'gibberish ' + prose(rng, 40) },                                      // 8 perplexity
  ]);
  const out = join(dir, 'out');
  const r = await curate({
    inputs: [file], outDir: out, maxTokens: 300, evalFraction: 0,
    perplexity: async (t) => (t.startsWith('gibberish') ? 5000 : 20), maxPerplexity: 1000,
  });
  const removed = readJsonl<{ loc: string; filter: string }>(join(out, 'removed.jsonl'));
  assert.deepEqual(removed.map((x) => [Number(x.loc.split(':').pop()), x.filter]), [
    [2, 'min_tokens'], [3, 'max_tokens'], [4, 'char_mix'], [5, 'language'], [6, 'repetition_lines'], [7, 'repetition_ngrams'], [8, 'perplexity'],
  ]);
  assert.deepEqual(r.removedByFilter, {
    min_tokens: 1,
    max_tokens: 1,
    char_mix: 1,
    language: 1,
    repetition_lines: 1,
    repetition_ngrams: 1,
    perplexity: 1,
  });
  assert.equal(r.counts.kept, 1);
  assert.ok(r.balanced);
  assert.ok(r.examples.removed.language?.[0].snippet.startsWith('le chat'));
});

test('exact duplicates after normalisation, near-duplicates by MinHash; the first seen is kept', async () => {
  const dir = tempDir();
  const rng = new Rng(2);
  const base = Array.from({ length: 30 }, () => prose(rng, 80));
  const nearCopy = base[3].split(' ').map((w, i) => (i === 40 ? 'different' : w)).join(' '); // one word changed
  const rows = [
    ...base.map((text) => ({ text })),                       // 1..30
    { text: base[0].replace(/ /g, ' \u00a0 ') + '  \n\n\n' }, // 31: whitespace variant of 1 → exact
    { text: base[1] },                                       // 32: exact
    { text: nearCopy },                                      // 33: near dup of 4
  ];
  const file = join(dir, 'in.jsonl');
  write(file, rows);
  const out = join(dir, 'out');
  const r = await curate({ inputs: [file], outDir: out, evalFraction: 0.3, seed: 5 });
  assert.equal(r.counts.exactDuplicates, 2);
  assert.equal(r.counts.nearDuplicates, 1);
  assert.equal(r.counts.kept, 30);
  const removed = readJsonl<{ loc: string; filter: string; duplicateOf: string }>(join(out, 'removed.jsonl'));
  assert.deepEqual(removed.map((x) => [x.loc, x.filter, x.duplicateOf]), [
    [`${file}:31`, 'exact_dup', `${file}:1`], [`${file}:32`, 'exact_dup', `${file}:2`], [`${file}:33`, 'near_dup', `${file}:4`],
  ]);
  // deterministic: a second run gives byte-identical outputs; another seed gives another split
  const out2 = join(dir, 'out2');
  await curate({ inputs: [file], outDir: out2, evalFraction: 0.3, seed: 5 });
  for (const f of ['train.jsonl', 'eval.jsonl', 'removed.jsonl'])
    assert.equal(readFileSync(join(out, f), 'utf8'), readFileSync(join(out2, f), 'utf8'));
  const r3 = await curate({ inputs: [file], outDir: join(dir, 'out3'), evalFraction: 0.3, seed: 6 });
  assert.notEqual(readFileSync(join(out, 'eval.jsonl'), 'utf8'), readFileSync(join(dir, 'out3', 'eval.jsonl'), 'utf8'));
  assert.equal(r3.counts.train + r3.counts.eval, 30);
});

test('with --keep-near-dups, a near-duplicate cluster never straddles train and eval', async () => {
  const dir = tempDir();
  const rng = new Rng(3);
  const rows: { text: string }[] = [];
  for (let c = 0; c < 40; c++) {
    const words = prose(rng, 200).split(' ');
    for (let v = 0; v < 3; v++) rows.push({ text: words.map((w, i) => (i === 10 + v * 60 ? `variant${v}` : w)).join(' ') });
  }
  const file = join(dir, 'in.jsonl');
  write(file, rows);
  const out = join(dir, 'out');
  const r = await curate({ inputs: [file], outDir: out, removeNearDups: false, evalFraction: 0.5, seed: 0 });
  assert.equal(r.counts.kept, 120);
  assert.equal(r.nearDup.clusters, 40);
  const evalTexts = new Set(readJsonl<{ text: string }>(join(out, 'eval.jsonl')).map((x) => x.text));
  let straddle = 0;
  for (let c = 0; c < 40; c++) {
    const inEval = [0, 1, 2].map((v) => evalTexts.has(rows[c * 3 + v].text));
    if (new Set(inEval).size > 1) straddle++;
  }
  assert.equal(straddle, 0);
  assert.ok(r.counts.eval > 20 && r.counts.eval < 100, `eval ${r.counts.eval}`);
});

test('PII is counted, and redacted only with redactPii; a custom token counter is used and named', async () => {
  const dir = tempDir();
  const rng = new Rng(4);
  const file = join(dir, 'in.jsonl');
  write(file, [
    { prompt: 'Contact me at jane@example.com about ' + prose(rng, 20), completion: 'Sure, I will call 555-123-4567 and ' + prose(rng, 20) },
    {
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'My key is AKIAIOSFODNN7EXAMPLE, ' + prose(rng, 20) },
        { role: 'assistant', content: 'Please rotate it. ' + prose(rng, 20) },
      ],
    },
  ]);
  const plain = await curate({ inputs: [file], outDir: join(dir, 'a'), evalFraction: 0 });
  assert.deepEqual(plain.pii.byKind, { email: 1, phone: 1, credit_card: 0, ipv4: 0, ipv6: 0, secret: 1 });
  assert.equal(plain.pii.recordsWithPii, 2);
  assert.match(readFileSync(join(dir, 'a', 'train.jsonl'), 'utf8'), /jane@example\.com/);
  const red = await curate({
    inputs: [file],
    outDir: join(dir, 'b'),
    evalFraction: 0,
    redactPii: true,
    tokenCounter: (t) => t.length,
    tokenCounterName: 'chars',
  });
  const train = readFileSync(join(dir, 'b', 'train.jsonl'), 'utf8');
  assert.doesNotMatch(train, /jane@example\.com|555-123-4567|AKIA/);
  assert.match(train, /<EMAIL>.*<PHONE>/s);
  assert.match(train, /<SECRET>/);
  assert.equal(red.tokenCounter, 'chars');
  assert.ok(red.lengths.kept.counts.slice(8).reduce((a, b) => a + b, 0) === 2); // char counts are >= 128
});

test('a failing run leaves no output or temp files behind', async () => {
  const dir = tempDir();
  const file = join(dir, 'in.jsonl');
  write(file, Array.from({ length: 50 }, (_, i) => ({ text: `record ${i} says the thing is in the house of the man` })));
  const out = join(dir, 'out');
  let calls = 0;
  await assert.rejects(
    curate({
      inputs: [file],
      outDir: out,
      tokenCounter: () => {
        if (++calls === 30) throw new Error('tokenizer crashed');
        return 10;
      },
    }),
    /tokenizer crashed/,
  );
  assert.ok(!existsSync(out), 'the out folder appears only when the run succeeds');
  assert.deepEqual(readdirSync(dir), ['in.jsonl'], 'no temp folder is left behind');
});
