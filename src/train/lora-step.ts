// One optimizer step of LoRA training, for loop.ts: `gradAccum` micro-batches through the compiled TrainStep, their
// gradients summed, the mean over target tokens with global-norm clipping, the scheduled learning rate and AdamW on
// the adapter tensors. Also the batch order of each epoch and the held-out loss.
import type { CausalLM, LinearAdapter } from '../models/causal-lm.js';
import { Rng } from '../util/rng.js';
import { type AdamWState, adamwStep, clippedScale, scheduledLr } from './adamw.js';
import { type Sequence, makeTrainBatch, toSequences } from './batches.js';
import type { TrainState } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { type Sample, packSamples } from './data.js';
import type { StepOutcome } from './loop.js';
import type { TrainStep } from './step.js';

/** Mean next-token loss of `samples` under the model (+ adapter), in batches. */
export async function evaluateLoss(
  lm: CausalLM, samples: readonly Sample[], adapter: LinearAdapter | undefined, batchSize: number, padId: number,
): Promise<number> {
  let sum = 0, count = 0;
  for (let i = 0; i < samples.length; i += batchSize) {
    const batch = makeTrainBatch(toSequences(samples.slice(i, i + batchSize)), padId, false);
    const r = await lm.scoreBatch(batch, { adapter });
    sum += r.lossSum;
    count += r.tokenCount;
  }
  return count > 0 ? sum / count : NaN;
}

/** The micro-batches of one epoch: a seeded shuffle per epoch, so a resumed run sees the same order. */
export function epochBatches(train: readonly Sample[], cfg: TrainConfig, epoch: number): Sequence[][] {
  const order = new Rng(cfg.seed * 1000003 + epoch).shuffle(train.map((_, i) => i)).map((i) => train[i]);
  const seqs: Sequence[] = cfg.packing ? packSamples(order, cfg.maxLength) : toSequences(order);
  const out: Sequence[][] = [];
  for (let i = 0; i < seqs.length; i += cfg.batchSize) out.push(seqs.slice(i, i + cfg.batchSize));
  return out;
}

export interface LoraStepParts {
  readonly cfg: TrainConfig;
  readonly train: readonly Sample[];
  readonly step: TrainStep;
  /** The training binding (with dropout) of the adapter whose tensors are `params`. */
  readonly binding: LinearAdapter;
  readonly params: readonly Float32Array[];
  readonly adam: AdamWState;
  readonly padId: number;
  readonly totalSteps: number;
}

export function loraStep(p: LoraStepParts): (state: TrainState) => Promise<StepOutcome<TrainState>> {
  const { cfg, train, step, binding, params, adam, padId } = p;
  const grads = params.map((x) => new Float32Array(x.length));
  const acc = params.map((x) => new Float32Array(x.length));
  let cached: Sequence[][] = [], cachedEpoch = -1;
  const batchesOf = (epoch: number): Sequence[][] => {
    if (cachedEpoch !== epoch) { cached = epochBatches(train, cfg, epoch); cachedEpoch = epoch; }
    return cached;
  };
  const adamw = { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: 1e-8, weightDecay: cfg.weightDecay };
  return async (state) => {
    for (const a of acc) a.fill(0);
    let lossSum = 0, targets = 0, tokens = 0;
    for (let micro = 0; micro < cfg.gradAccum; micro++) {
      if (state.batchInEpoch >= batchesOf(state.epoch).length) state = { ...state, epoch: state.epoch + 1, batchInEpoch: 0 };
      const seqs = batchesOf(state.epoch)[state.batchInEpoch];
      state = { ...state, batchInEpoch: state.batchInEpoch + 1 };
      // Dropout masks depend only on (seed, step, micro-batch), so a resumed run draws the same ones.
      const dropoutSeed = cfg.seed * 1_000_003 + state.step * 64 + micro;
      const r = await step.run(makeTrainBatch(seqs, padId, cfg.packing), binding, grads, dropoutSeed);
      lossSum += r.lossSum;
      targets += r.tokens;
      for (const s of seqs) tokens += s.ids.length;
      for (let i = 0; i < acc.length; i++) { const a = acc[i], g = grads[i]; for (let j = 0; j < a.length; j++) a[j] += g[j]; }
    }
    const { scale, norm } = clippedScale(acc, targets, cfg.maxGradNorm);
    const lr = scheduledLr(state.step, { lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: p.totalSteps, schedule: cfg.schedule });
    adamwStep(params, acc, adam, adamw, lr, scale);
    return { state, loss: targets > 0 ? lossSum / targets : NaN, lr, gradNorm: norm, tokens };
  };
}
