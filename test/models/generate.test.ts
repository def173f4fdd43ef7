// Generation options users rely on: a seed reproduces sampling, top-k 1 is greedy, stop strings cut the text,
// EOS ends a row, repetition penalty changes greedy choices; packed sequences score like separate ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { writeTinyModel } from '../helpers/tiny-model.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { CausalLM, makeScoreBatch } from '../../src/models/causal-lm.js';
import { generate } from '../../src/models/generate.js';
import { makeTrainBatch } from '../../src/train/batches.js';

const dir = writeTinyModel(join(mkdtempSync(join(tmpdir(), 'lk-gen-')), 'm'), { seed: 11, hidden: 48 });

test('sampling: same seed → same tokens, other seed → other tokens, top-k 1 → greedy', async () => {
  const ck = await loadCheckpoint(dir);
  const lm = new CausalLM(ck.config, ck.weights, ck.shapes);
  const prompt = [[257, 84, 104, 101, 32]];
  const opts = { maxNewTokens: 24, temperature: 1.5, topP: 0.95, eosTokenIds: [] as number[] };
  const a = await generate(lm, prompt, { ...opts, seed: 1 });
  const b = await generate(lm, prompt, { ...opts, seed: 1 });
  const c = await generate(lm, prompt, { ...opts, seed: 2 });
  assert.deepEqual(a.tokens, b.tokens);
  assert.notDeepEqual(a.tokens, c.tokens);
  const greedy = await generate(lm, prompt, { maxNewTokens: 24, eosTokenIds: [] });
  const topk1 = await generate(lm, prompt, { maxNewTokens: 24, temperature: 1, topK: 1, seed: 5, eosTokenIds: [] });
  assert.deepEqual(topk1.tokens, greedy.tokens);
  const penalised = await generate(lm, prompt, { maxNewTokens: 24, repetitionPenalty: 3, eosTokenIds: [] });
  assert.notDeepEqual(penalised.tokens, greedy.tokens, 'a strong repetition penalty changes greedy output on a random model');
});

test('stop strings cut the text; an EOS token ends its row only', async () => {
  const ck = await loadCheckpoint(dir);
  const lm = new CausalLM(ck.config, ck.weights, ck.shapes);
  const tok = ck.tokenizer!;
  const prompts = [[257, 65], [257, 66, 67]];
  const free = await generate(lm, prompts, { maxNewTokens: 16, eosTokenIds: [], decode: (x) => tok.decode(x) });
  const stopAt = free.text![0].slice(3, 5);
  const stopped = await generate(lm, prompts, { maxNewTokens: 16, eosTokenIds: [], decode: (x) => tok.decode(x), stop: [stopAt] });
  assert.equal(stopped.finishReasons[0], 'stop');
  assert.ok(!stopped.text![0].includes(stopAt) && free.text![0].startsWith(stopped.text![0]));
  // Make row 1's 4th greedy token an EOS: row 1 stops there, row 0 goes on to max_new_tokens.
  const eos = free.tokens[1][3];
  const r = await generate(lm, prompts, { maxNewTokens: 16, eosTokenIds: [eos] });
  assert.deepEqual(r.tokens[1], free.tokens[1].slice(0, free.tokens[1].indexOf(eos)));
  assert.equal(r.finishReasons[1], 'stop');
  assert.equal(r.tokens[0].length, free.tokens[0].includes(eos) ? free.tokens[0].indexOf(eos) : 16);
});

test('a packed sequence scores each segment exactly as if it were alone', async () => {
  const ck = await loadCheckpoint(dir);
  const lm = new CausalLM(ck.config, ck.weights, ck.shapes);
  const s1 = [257, 72, 105, 32, 116, 104, 101, 114, 101], s2 = [257, 66, 121, 101];
  const alone = await lm.scoreBatch(makeScoreBatch([s1, s2], 258));
  const packed = makeTrainBatch(
    [
      {
        ids: [...s1, ...s2],
        target: [...s1.map((_, i) => i > 0), ...s2.map((_, i) => i > 0)],
        segments: [...s1.map(() => 0), ...s2.map(() => 1)],
        positions: [...s1.keys(), ...s2.keys()],
      },
    ],
    258,
    true,
  );
  const { session, weightInputs } = await lm.graph({ mode: 'score', packed: true });
  const dims = [1, s1.length + s2.length];
  const r = await session.run({
    ...lm.weightFeeds(weightInputs),
    input_ids: { data: packed.inputIds, dims },
    attention_mask: { data: packed.attentionMask, dims },
    position_ids: { data: packed.positionIds, dims },
    labels: { data: packed.labels, dims },
    segment_ids: { data: packed.segmentIds!, dims },
  });
  const lp = r.token_logprobs.data as Float32Array;
  const T = alone.dims[1];
  for (let t = 0; t < s1.length - 1; t++) assert.ok(Math.abs(lp[t] - alone.tokenLogprobs[t]) < 1e-5, `segment 1 position ${t}`);
  for (let t = 0; t < s2.length - 1; t++) assert.ok(Math.abs(lp[s1.length + t] - alone.tokenLogprobs[T + t]) < 1e-5, `segment 2 position ${t}`);
  assert.ok(lp[s1.length - 1] === 0, 'no target across the segment boundary');
});

test('weights baked into the decode graph give the same tokens as weights fed as inputs', async () => {
  const ck = await loadCheckpoint(dir);
  const fed = new CausalLM(ck.config, ck.weights, ck.shapes);
  const baked = new CausalLM(ck.config, ck.weights, ck.shapes, { bakeDecodeWeights: true });
  const prompts = [[257, 84, 104, 101], [257, 65]];
  assert.deepEqual(
    (await generate(baked, prompts, { maxNewTokens: 12, eosTokenIds: [] })).tokens,
    (await generate(fed, prompts, { maxNewTokens: 12, eosTokenIds: [] })).tokens,
  );
});
