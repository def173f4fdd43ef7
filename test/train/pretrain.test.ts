// Pretraining: a tiny Llama trained from scratch on a few Brown documents (loss falls, the BF16 folder loads with
// loadCheckpoint and generates, exact parameter count, HF config fields, model card numbers), held-out documents
// never reach training, a killed run resumes to the same weights, and the CLI flags parse into the config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SPECIAL_TOKENS, writeTokenizerFolder } from '../../src/models/bpe/folder.js';
import { trainBpe } from '../../src/models/bpe/trainer.js';
import { CausalLM } from '../../src/models/causal-lm.js';
import { loadCheckpoint } from '../../src/models/checkpoint.js';
import { expectedParameterCount } from '../../src/models/config.js';
import { generate } from '../../src/models/generate.js';
import { loadTokenizer } from '../../src/models/tokenizer.js';
import { pretrain, type PretrainConfig, pretrainDefaults } from '../../src/train/pretrain.js';
import { buildPretrainData, readCorpus, trainingTexts } from '../../src/train/pretrain-data.js';
import { LorakitError } from '../../src/errors.js';
import { parseArgs } from '../../src/cli/parse.js';
import { pretrainCmd } from '../../src/cli/commands/pretrain.js';

const root = mkdtempSync(join(tmpdir(), 'lk-pretrain-'));
const DOCS = 30; // brown ca01..ca30: ca10, ca20, ca30 are held out
const tokDir = join(root, 'tok');
writeTokenizerFolder(
  tokDir,
  trainBpe(trainingTexts(readCorpus(['brown'], { limit: DOCS })), {
    vocabSize: 512,
    specialTokens: DEFAULT_SPECIAL_TOKENS,
  }),
  { modelMaxLength: 128 },
);

const tiny = (name: string, over: Partial<PretrainConfig> = {}): PretrainConfig => ({
  ...pretrainDefaults, corpus: ['brown'], tokenizer: tokDir, out: join(root, name), runDir: join(root, `${name}.run`), docLimit: DOCS,
  hidden: 32, layers: 2, heads: 4, kvHeads: 2, maxPositions: 128, steps: 30, seq: 64, batch: 4, lr: 1e-2, warmupSteps: 3,
  evalEvery: 10, evalRows: 4, saveEvery: 0, threads: 1, pplStride: 64, ...over,
});
const metrics = (runDir: string): { step: number; loss: number; eval_loss?: number }[] =>
  readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });

test('held-out Brown documents are excluded from training rows', async () => {
  const docs = readCorpus(['brown'], { limit: DOCS });
  assert.deepEqual(docs.filter((d) => d.heldOut).map((d) => d.id), ['brown/ca10', 'brown/ca20', 'brown/ca30']);
  const tok = await loadTokenizer(tokDir);
  const data = buildPretrainData(docs, tok, tok.eosTokenIds[0], 64);
  assert.equal(data.trainDocs, 27);
  assert.equal(data.heldDocs, 3);
  // A 64-token window of a held-out document never occurs in the training stream.
  const held = tok.encode(docs.find((d) => d.id === 'brown/ca20')!.text, { addSpecialTokens: false }).slice(100, 164).join(',');
  assert.ok(!data.rows.map((r) => Array.from(r).join(',')).join(';').includes(held));
  assert.equal(data.rows.length, Math.floor(data.trainTokens / 64));
});

test('a tiny pretrain run: loss falls, the BF16 folder loads, generates and carries a model card', async () => {
  const cfg = tiny('m');
  const r = await pretrain(cfg);
  const ms = metrics(cfg.runDir!);
  assert.equal(ms.length, 30);
  const first = ms[0].loss, last = ms.slice(-5).reduce((a, m) => a + m.loss, 0) / 5;
  assert.ok(first > Math.log(512) - 0.1, `initial loss ${first} ≈ ln(vocab)`);
  assert.ok(last < first - 0.7, `loss fell from ${first.toFixed(3)} to ${last.toFixed(3)}`);
  assert.ok(ms.filter((m) => m.eval_loss !== undefined).length === 3);

  const ck = await loadCheckpoint(cfg.out, { tokenizer: true });
  assert.equal(ck.dtypeOnDisk, 'BF16');
  assert.equal(ck.config.modelType, 'llama');
  assert.deepEqual(ck.config.architectures, ['LlamaForCausalLM']);
  assert.equal(ck.config.tieWordEmbeddings, true);
  assert.equal(ck.config.ropeTheta, 10000);
  assert.equal(ck.config.normEps, 1e-5);
  assert.equal(ck.config.hiddenAct, 'silu');
  assert.equal(ck.config.numKvHeads, 2);
  assert.equal(ck.config.vocabSize, 512);
  assert.equal(ck.config.intermediateSize, 96); // ceil(32·8/3 / 32)·32
  // V·H + L·(q,k,v,o + gate,up,down + 2 norms) + final norm = 512·32 + 2·(32·32·2 + 16·32·2 + 3·32·96 + 64) + 32
  assert.equal(ck.parameters, 512 * 32 + 2 * (2 * 32 * 32 + 2 * 16 * 32 + 3 * 32 * 96 + 64) + 32);
  assert.equal(ck.parameters, expectedParameterCount(ck.config));
  assert.equal(r.parameters, ck.parameters);
  assert.deepEqual([...ck.generationConfig.eosTokenIds], [506, 511]); // <|endoftext|>, <|end|>

  const lm = new CausalLM(ck.config, ck.weights, ck.shapes, { threads: 1 });
  const prompt = ck.tokenizer!.encode('The jury said', { addSpecialTokens: false });
  const g = await generate(lm, [prompt], { maxNewTokens: 8, eosTokenIds: [] });
  assert.equal(g.tokens[0].length, 8);
  assert.equal(r.sample.text, ck.tokenizer!.decode((await generate(lm, [prompt], { maxNewTokens: 24, eosTokenIds: [506, 511] })).tokens[0]));

  assert.ok(Number.isFinite(r.heldOutPerplexity) && r.heldOutPerplexity > 1 && r.heldOutPerplexity < 512, `ppl ${r.heldOutPerplexity}`);
  assert.ok(r.heldOutTokens > 1000);
  const card = readFileSync(join(cfg.out, 'README.md'), 'utf8');
  for (const s of [
    r.heldOutPerplexity.toFixed(2), r.trainLoss.toFixed(4), r.parameters.toLocaleString('en-US'), 'LlamaForCausalLM',
    'Held out', 'bfloat16',
  ]) {
    assert.ok(card.includes(s), `model card mentions ${s}`);
  }
});

test('a run killed after a checkpoint resumes to the same final weights', async () => {
  const straight = tiny('a', { steps: 16, saveEvery: 8, evalEvery: 0 });
  await pretrain(straight);
  const killed = tiny('b', { steps: 16, saveEvery: 8, evalEvery: 0 });
  await assert.rejects(pretrain(killed, { onStep: (m) => { if (m.step === 12) throw new Error('killed'); } }), /killed/);
  const r = await pretrain(killed, {}, { resume: true });
  assert.equal(r.steps, 16);
  assert.deepEqual(readFileSync(join(killed.out, 'model.safetensors')), readFileSync(join(straight.out, 'model.safetensors')));
  assert.deepEqual(metrics(killed.runDir!).map((m) => m.step), Array.from({ length: 16 }, (_, i) => i + 1)); // steps 9-12 of the killed run dropped
  // Different flags cannot resume that checkpoint.
  await assert.rejects(
    pretrain({ ...killed, steps: 17, lr: 5e-3 }, {}, { resume: true }),
    (e: unknown) => e instanceof LorakitError && e.code === 'LK_CHECKPOINT',
  );
});

test('bad sizes and a corpus smaller than one batch are refused with codes', async () => {
  await assert.rejects(pretrain(tiny('x', { hidden: 30 })), (e: unknown) => e instanceof LorakitError && e.code === 'LK_ARG');
  // seq 256 > max_position_embeddings 128
  await assert.rejects(pretrain(tiny('y', { seq: 256 })), (e: unknown) => e instanceof LorakitError && e.code === 'LK_ARG');
  await assert.rejects(pretrain(tiny('z', { docLimit: 1, batch: 1000 })), (e: unknown) => e instanceof LorakitError && e.code === 'LK_DATA');
});

test('pretrain CLI flags parse into the config', () => {
  const p = parseArgs(pretrainCmd, [
    '--corpus', 'brown', '--tokenizer', 'tok', '--out', 'm', '--hidden', '320', '--kv-heads', '2', '--steps', '9',
    '--lr', '1e-3', '--resume',
  ]);
  assert.equal(p.flags.hidden, 320);
  assert.equal(p.flags.kvHeads, 2);
  assert.equal(p.flags.steps, 9);
  assert.equal(p.flags.lr, 1e-3);
  assert.equal(p.flags.seq, 256);
  assert.equal(p.flags.resume, true);
  assert.deepEqual(p.flags.corpus, ['brown']);
  assert.throws(() => parseArgs(pretrainCmd, ['--out', 'm']), (e: unknown) => e instanceof LorakitError && e.code === 'LK_ARG');
});
