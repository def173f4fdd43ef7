// The shared training loop (src/train/loop.ts) with a stand-in optimizer step: when it evaluates, checkpoints and
// stops early, and how it starts metrics.jsonl (empty when fresh; on resume, the rows up to the checkpoint, minus a
// row cut short by a kill).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { TrainState } from '../../src/train/checkpoint.js';
import { type LoopSpec, runLoop, type StepMetrics } from '../../src/train/loop.js';

const tmp = mkdtempSync(join(tmpdir(), 'lk-loop-'));
const fresh: TrainState = {
  step: 0, epoch: 0, batchInEpoch: 0, rng: [], bestEvalLoss: null, evalsWithoutImprovement: 0, tokensSeen: 0, configHash: 'h', baseFingerprint: 'b',
};
const rows = (file: string): { step: number; loss?: number; eval_loss?: number; tokens_per_s?: number }[] =>
  readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number });

function spec(name: string, over: Partial<LoopSpec<TrainState>>, evalLosses: number[] = [], saved: number[] = []): LoopSpec<TrainState> {
  return {
    state: fresh, totalSteps: 6, metricsFile: join(tmp, name, 'metrics.jsonl'),
    step: async (s) => ({ state: { ...s, batchInEpoch: s.batchInEpoch + 1 }, loss: 10 - s.step, lr: 0.1, gradNorm: 1, tokens: 8 }),
    evaluate: async () => evalLosses.shift() ?? 0, evalEvery: 2, saveEvery: 2, patience: 0,
    save: (s) => { saved.push(s.step); return `ck-${s.step}`; },
    ...over,
  };
}

test('a fresh run: a base evaluation row, evaluation every N steps and at the last, checkpoints before the last only', async () => {
  const saved: number[] = [], seen: StepMetrics[] = [], checkpoints: string[] = [];
  const r = await runLoop(spec('fresh', { evalAtStart: true }, [5, 4, 3, 2], saved), {
    onStep: (m) => seen.push(m), onCheckpoint: (dir) => checkpoints.push(dir),
  });
  const got = rows(join(tmp, 'fresh', 'metrics.jsonl'));
  assert.deepEqual(got.map((x) => [x.step, x.eval_loss ?? null]), [[0, 5], [1, null], [2, 4], [3, null], [4, 3], [5, null], [6, 2]]);
  assert.deepEqual(got.slice(1).map((x) => x.loss), [10, 9, 8, 7, 6, 5]); // the step's loss, in the step's row
  assert.deepEqual(seen.map((m) => m.step), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(saved, [2, 4]);
  assert.deepEqual(checkpoints, ['ck-2', 'ck-4']);
  assert.equal(r.baseEval, 5);
  assert.equal(r.lastEval, 2);
  assert.equal(r.state.step, 6);
  assert.equal(r.state.batchInEpoch, 6, "the step's own state advances are kept");
  assert.equal(r.state.tokensSeen, 48);
  assert.equal(r.stoppedEarly, false);
});

test('early stopping: after `patience` evaluations without improvement, keeping the best loss', async () => {
  const r = await runLoop(spec('early', { totalSteps: 20, evalEvery: 1, patience: 2 }, [3, 2, 2.5, 2.1, 1]));
  assert.equal(r.stoppedEarly, true);
  assert.equal(r.state.step, 4);
  assert.equal(r.state.bestEvalLoss, 2);
  assert.equal(r.lastEval, 2.1);
});

test('a resumed run drops the metrics rows after its checkpoint (and a torn last row), then writes each step once', async () => {
  const file = join(tmp, 'resumed', 'metrics.jsonl');
  await runLoop(spec('resumed', { evalAtStart: true }, [5, 4, 3, 2]));
  writeFileSync(file, readFileSync(file, 'utf8').replace(/\n$/, '') + '\n{"step": 7, "lo'); // a kill mid-write
  const r = await runLoop(spec('resumed', { state: { ...fresh, step: 4, bestEvalLoss: 3 }, evalAtStart: true, totalSteps: 7 }, [1.5, 1]));
  assert.deepEqual(rows(file).map((x) => x.step), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(r.baseEval, null, 'no base evaluation on resume');
  await runLoop(spec('resumed', { totalSteps: 1, evaluate: undefined })); // a fresh run again: the file starts empty
  assert.deepEqual(rows(file).map(({ tokens_per_s: _rate, ...row }) => row), [{ step: 1, loss: 10, lr: 0.1, grad_norm: 1, tokens: 8, epoch: 0 }]);
});
