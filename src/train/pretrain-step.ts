// One optimizer step of pretraining, for loop.ts. One compiled graph computes the summed next-token loss and the
// gradient of every weight (weights are graph inputs by HF name); AdamW with warmup + cosine decay and global-norm
// clipping runs on the Float32Arrays, with weight decay on matrices only (two parameter groups).
import { type CompiledGraph, compile, grad } from '../engine/index.js';
import { LorakitError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { ModelConfig } from '../models/config.js';
import { buildCausalLMGraph } from '../models/graphs.js';
import { type AdamWState, adamwStep, clippedScale, scheduledLr } from './adamw.js';
import type { TrainState } from './checkpoint.js';
import type { StepOutcome } from './loop.js';
import { epochOrder, rowsBatch } from './pretrain-data.js';
import { decays } from './pretrain-model.js';
import type { PretrainConfig } from './pretrain.js';

/** The checkpointed state, plus the training clock and the losses behind the result's tail mean. */
export interface PretrainState extends TrainState { readonly trainSeconds: number; readonly recentLosses: readonly number[] }

/** Every weight with its AdamW moments, split into the groups with and without weight decay. */
export interface PretrainParams {
  readonly names: readonly string[];
  readonly params: readonly Float32Array[];
  readonly m: readonly Float32Array[];
  readonly v: readonly Float32Array[];
  readonly groups: readonly { readonly idx: readonly number[]; readonly decay: boolean; readonly state: AdamWState }[];
}

export function pretrainParams(
  names: readonly string[], weights: ReadonlyMap<string, Float32Array>, shapes: ReadonlyMap<string, number[]>,
): PretrainParams {
  const params = names.map((n) => weights.get(n)!);
  const m = params.map((p) => new Float32Array(p.length)), v = params.map((p) => new Float32Array(p.length));
  const groups = [true, false].map((decay) => {
    const idx = names.map((n, i) => (decays(n, shapes.get(n)!) === decay ? i : -1)).filter((i) => i >= 0);
    const state: AdamWState = { step: 0, m: idx.map((i) => m[i]), v: idx.map((i) => v[i]) };
    return { idx, decay, state };
  });
  return { names, params, m, v, groups };
}

export interface PretrainStepParts {
  readonly cfg: PretrainConfig;
  readonly mc: ModelConfig;
  readonly lm: CausalLM;
  readonly p: PretrainParams;
  readonly rows: readonly Int32Array[];
}

export type PretrainStepFn = (state: PretrainState) => Promise<StepOutcome<PretrainState>>;

/** Compiles the loss-and-gradients graph once and returns the step that runs it. */
export async function pretrainStep({ cfg, mc, lm, p, rows }: PretrainStepParts): Promise<PretrainStepFn> {
  const built = buildCausalLMGraph(mc, { mode: 'score', shapes: lm.shapes, packed: false, name: 'llama_pretrain' });
  const g = built.graph;
  const syms = p.names.map((n) => {
    const s = g.inputs.find((x) => x.name === n);
    if (!s) throw new LorakitError('LK_INTERNAL', `pretrain: weight '${n}' is not a graph input`);
    return s;
  });
  grad(built.lossSum!, syms).forEach((d, i) => g.output(`grad.${p.names[i]}`, d));
  const session: CompiledGraph = await compile(g, { threads: cfg.threads });
  const grads = p.params.map((x) => new Float32Array(x.length));
  const into = Object.fromEntries(p.names.map((n, i) => [`grad.${n}`, grads[i]]));
  const batchesPerEpoch = Math.floor(rows.length / cfg.batch);
  if (batchesPerEpoch === 0) {
    throw new LorakitError('LK_DATA', `the corpus has ${rows.length} rows of ${cfg.seq} tokens, fewer than one batch of ${cfg.batch}`);
  }
  let order: number[] = [], orderEpoch = -1;
  const tailN = Math.max(1, Math.min(50, Math.round(cfg.steps / 10)));
  const schedule = { lr: cfg.lr, warmupSteps: cfg.warmupSteps, totalSteps: cfg.steps, schedule: 'cosine', minRatio: cfg.minLrRatio } as const;
  return async (state) => {
    if (state.batchInEpoch >= batchesPerEpoch) state = { ...state, epoch: state.epoch + 1, batchInEpoch: 0 };
    if (orderEpoch !== state.epoch) { order = epochOrder(rows.length, cfg.seed, state.epoch); orderEpoch = state.epoch; }
    const batch = rowsBatch(order.slice(state.batchInEpoch * cfg.batch, (state.batchInEpoch + 1) * cfg.batch).map((i) => rows[i]));
    const dims = [batch.batch, batch.seq];
    const feeds = {
      ...lm.weightFeeds(built.weightInputs),
      input_ids: { data: batch.inputIds, dims }, attention_mask: { data: batch.attentionMask, dims },
      position_ids: { data: batch.positionIds, dims }, labels: { data: batch.labels, dims },
    };
    const r = await session.run(feeds, into);
    const lossSum = (r.loss_sum.data as Float32Array)[0], targets = (r.token_count.data as Float32Array)[0];
    const { scale, norm } = clippedScale(grads, targets, cfg.maxGradNorm);
    const lr = scheduledLr(state.step, schedule);
    for (const gr of p.groups) {
      adamwStep(gr.idx.map((i) => p.params[i]), gr.idx.map((i) => grads[i]), gr.state,
        { lr: cfg.lr, beta1: cfg.beta1, beta2: cfg.beta2, eps: 1e-8, weightDecay: gr.decay ? cfg.weightDecay : 0 }, lr, scale);
    }
    const loss = lossSum / targets;
    if (!Number.isFinite(loss)) {
      const hint = 'lower --lr or raise --warmup-steps';
      throw new LorakitError('LK_TRAIN_CONFIG', `pretrain: loss is ${loss} at step ${state.step + 1}`, { hint });
    }
    const next = { ...state, batchInEpoch: state.batchInEpoch + 1, recentLosses: [...state.recentLosses, loss].slice(-tailN) };
    return { state: next, loss, lr, gradNorm: norm, tokens: cfg.batch * cfg.seq };
  };
}
