// BPE trainer: exact merges on a hand-checked toy corpus, deterministic tie-breaking, the tokenizer.json layout,
// and a 4096-token Brown tokenizer loaded through loadTokenizer (@huggingface/tokenizers): exact round trips on
// held-out Brown and SOTU text, learned merges in use (' the' is one token), and ids equal to an independent
// merge-by-rank encoder written here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBrownHeldOut, readBrown } from '../../src/data/corpora/brown.js';
import { readSotu } from '../../src/data/corpora/sotu.js';
import { bytesToUnicode } from '../../src/models/bpe/byte-level.js';
import { DEFAULT_SPECIAL_TOKENS, writeTokenizerFolder } from '../../src/models/bpe/folder.js';
import { countWords, GPT2_PATTERN, trainBpe, trainBpeFromCounts } from '../../src/models/bpe/trainer.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { LorakitError } from '../../src/errors.js';

const G = bytesToUnicode()[32]; // 'Ġ', the byte-level space

test('pre-tokenizer splits like GPT-2 and word counts are per byte-level piece', () => {
  const pieces = [..."Don't stop, 42 times!\n\n  ok".matchAll(GPT2_PATTERN)].map((m) => m[0]);
  assert.deepEqual(pieces, ['Don', "'t", ' stop', ',', ' 42', ' times', '!', '\n\n ', ' ok']);
  const c = countWords(['the cat the hat', 'the']);
  assert.deepEqual([...c].sort(), [[`${G}cat`, 1], [`${G}hat`, 1], [`${G}the`, 1], ['the', 2]].sort());
});

test('merges on a toy corpus are the hand-computed most-frequent pairs, in order', () => {
  // low×5, lower×2, newest×6, widest×3 (Sennrich et al. 2016). Pair counts: es 9 = st 9 (tie → 'es'), then est 9,
  // lo 7 = ow 7 (→ 'lo'), low 7, then ne 6 = ew 6 (→ 'ew'), then ew+est 6 = n+ew 6 (→ 'ewest' < 'new').
  const counts = new Map([['low', 5], ['lower', 2], ['newest', 6], ['widest', 3]]);
  const m = trainBpeFromCounts(counts, { vocabSize: 256 + 6 });
  assert.deepEqual(m.merges, [['e', 's'], ['es', 't'], ['l', 'o'], ['lo', 'w'], ['e', 'w'], ['ew', 'est']]);
  assert.equal(m.vocabSize, 262);
  assert.deepEqual(m.symbols.slice(256), ['es', 'est', 'lo', 'low', 'ew', 'ewest']);
});

test('ties break by the merged string, independent of input order', () => {
  const a = trainBpeFromCounts(new Map([['cd', 3], ['ab', 3], ['xy', 1]]), { vocabSize: 259, minFrequency: 1 });
  const b = trainBpeFromCounts(new Map([['xy', 1], ['ab', 3], ['cd', 3]]), { vocabSize: 259, minFrequency: 1 });
  assert.deepEqual(a.merges, [['a', 'b'], ['c', 'd'], ['x', 'y']]);
  assert.deepEqual(b.merges, a.merges);
  // minFrequency stops merging early: only pairs seen twice or more.
  assert.equal(trainBpeFromCounts(new Map([['ab', 3], ['xy', 1]]), { vocabSize: 300 }).merges.length, 1);
});

test('a merged string reached by two merges keeps one id (HF BpeTrainer behaviour)', () => {
  // 'abc' can come from ab+c and a+bc; both merges are kept, the vocabulary holds it once.
  const m = trainBpeFromCounts(
    new Map([['abx', 10], ['ab', 10], ['bcy', 9], ['bc', 9], ['abc', 8], ['zabc', 1]]),
    { vocabSize: 256 + 5, minFrequency: 1 },
  );
  const strings = m.symbols.slice(256);
  assert.equal(new Set(strings).size, strings.length);
  assert.equal(m.vocabSize, m.symbols.length);
});

test('vocabSize outside the valid range is LK_ARG', () => {
  assert.throws(() => trainBpe(['hello'], { vocabSize: 200 }), (e: unknown) => e instanceof LorakitError && e.code === 'LK_ARG');
  assert.throws(
    () => trainBpe(['hello'], { vocabSize: 258, specialTokens: ['<a>', '<b>', '<c>'] }),
    (e: unknown) => e instanceof LorakitError && e.code === 'LK_ARG',
  );
});

/** Independent reference: GPT-2 BPE by merge rank over each pre-tokenized piece. */
function referenceEncode(text: string, ranks: Map<string, number>, vocab: Record<string, number>): number[] {
  const alphabet = bytesToUnicode(), enc = new TextEncoder(), out: number[] = [];
  for (const m of text.matchAll(GPT2_PATTERN)) {
    let w = [...enc.encode(m[0])].map((b) => alphabet[b]);
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < w.length; i++) {
        const r = ranks.get(`${w[i]} ${w[i + 1]}`);
        if (r !== undefined && r < bestRank) { bestRank = r; best = i; }
      }
      if (best < 0) break;
      const [a, b] = [w[best], w[best + 1]];
      const next: string[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) { next.push(a + b); i++; } else next.push(w[i]);
      }
      w = next;
    }
    out.push(...w.map((s) => vocab[s]));
  }
  return out;
}

test('a 4096-token Brown tokenizer: fast, HF layout, exact round trips, learned merges, reference ids', async () => {
  const docs = readBrown();
  const train = docs.filter((d) => !isBrownHeldOut(d.id)).map((d) => d.text);
  const t0 = performance.now();
  const model = trainBpe(train, { vocabSize: 4096, specialTokens: DEFAULT_SPECIAL_TOKENS });
  const seconds = (performance.now() - t0) / 1000;
  assert.ok(seconds < 30, `training took ${seconds.toFixed(1)} s`);
  assert.equal(model.vocabSize, 4096);
  const dir = mkdtempSync(join(tmpdir(), 'lk-bpe-'));
  const info = writeTokenizerFolder(dir, model, { modelMaxLength: 1024 });
  assert.equal(info.specialIds['<|endoftext|>'], 4090);

  // Standard tokenizer.json v1.0 layout (what `tokenizers.Tokenizer.from_file` and transformers read).
  interface TokJson {
    version: string;
    added_tokens: { content: string; id: number }[];
    pre_tokenizer: { type: string };
    decoder: { type: string };
    model: { type: string; vocab: Record<string, number>; merges: string[] };
  }
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as TokJson;
  assert.equal(json.version, '1.0');
  assert.equal(json.model.type, 'BPE');
  assert.equal(json.pre_tokenizer.type, 'ByteLevel');
  assert.equal(json.decoder.type, 'ByteLevel');
  assert.equal(Object.keys(json.model.vocab).length, 4096 - DEFAULT_SPECIAL_TOKENS.length);
  assert.equal(json.model.merges.length, model.merges.length);
  assert.deepEqual(json.added_tokens.map((t) => [t.content, t.id]), DEFAULT_SPECIAL_TOKENS.map((t, i) => [t, 4090 + i]));
  const cfg = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(cfg.eos_token, '<|endoftext|>');
  assert.equal(cfg.pad_token, '<|pad|>');
  assert.equal(cfg.model_max_length, 1024);

  const tok = await loadTokenizer(dir);
  assert.equal(tok.vocabSize, 4096);
  assert.deepEqual(tok.eosTokenIds, [4090]);
  assert.equal(tok.padTokenId, 4091);
  assert.equal(tok.bosTokenId, 4090);
  assert.equal(tok.encode(' the', { addSpecialTokens: false }).length, 1);
  assert.equal(tok.encode(' said', { addSpecialTokens: false }).length, 1);
  assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }], { addGenerationPrompt: true }), '<|user|>\nHi<|end|>\n<|assistant|>\n');
  assert.deepEqual(tok.encode('<|user|>\nHi<|end|>', { addSpecialTokens: false }).filter((id) => id >= 4090), [4093, 4095]);

  const ranks = new Map<string, number>(json.model.merges.map((m, i) => [m, i]));
  const held = docs.filter((d) => isBrownHeldOut(d.id)).slice(0, 10).map((d) => d.text);
  const sotu = readSotu({ fromYear: 1790, toYear: 2018 }).filter((_, i) => i % 40 === 0).map((a) => a.text.slice(0, 20000));
  const odd = ['naïve café — 10,000 émigrés!\n\n  spaces\t\ttabs  ', '日本語 and emoji 🙂👍🏽, "quotes" and \'apostrophes\'', ''];
  let tokens = 0, chars = 0;
  for (const text of [...held, ...sotu, ...odd]) {
    const ids = tok.encode(text, { addSpecialTokens: false });
    assert.equal(tok.decode(ids), text, `round trip of ${JSON.stringify(text.slice(0, 40))}`);
    if (text.length < 30000) assert.deepEqual(ids, referenceEncode(text, ranks, json.model.vocab));
    tokens += ids.length; chars += text.length;
  }
  assert.ok(chars / tokens > 3, `held-out compression ${(chars / tokens).toFixed(2)} chars/token`);
});
