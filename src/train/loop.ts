// The one training loop, shared by LoRA fine-tuning (trainer.ts) and pretraining (pretrain.ts), in the llama.c /
// mlx-lm manner: the caller owns the model, the data and the optimizer and hands in one optimizer step; the loop owns
// the schedule around it. Each step: the caller's step, evaluation when due (with the early-stopping bookkeeping), one
// metrics.jsonl row, the step hook (progress, tracking), a checkpoint when due, then the early-stopping check.
// It also owns metrics.jsonl: a fresh run starts it empty and a resumed run drops the rows after its checkpoint, so
// that every step appears exactly once however often a run is killed and resumed.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic.js';
import { appendJsonl } from '../util/jsonl.js';
import type { TrainState } from './checkpoint.js';

/** One metrics.jsonl row (and what the step hook receives). */
export interface StepMetrics {
  readonly step: number;
  readonly loss: number;
  readonly lr: number;
  readonly grad_norm: number;
  readonly tokens_per_s: number;
  readonly tokens: number;
  readonly epoch: number;
  readonly eval_loss?: number;
}

/** What one optimizer step reports. `state` carries the caller's advances (data position); the loop counts the step. */
export interface StepOutcome<S extends TrainState> {
  readonly state: S;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly tokens: number;
}

export interface LoopHooks {
  /** After each step's metrics row is written: progress bars and experiment tracking. */
  onStep?(m: StepMetrics, totalSteps: number): void;
  onEval?(step: number, evalLoss: number): void;
  onCheckpoint?(dir: string, step: number): void;
}

export interface LoopSpec<S extends TrainState> {
  /** Where to start: a fresh state at step 0, or the state of the checkpoint being resumed. */
  readonly state: S;
  readonly totalSteps: number;
  readonly metricsFile: string;
  /** One optimizer step from `state` (whose `step` is the number of steps done so far). */
  readonly step: (state: S) => Promise<StepOutcome<S>>;
  /** The held-out loss; absent when nothing is held out. */
  readonly evaluate?: () => Promise<number>;
  /** Evaluate every N steps (0: only after the last step). */
  readonly evalEvery: number;
  /** Also evaluate before the first step of a fresh run (a `step: 0` row); its loss is the result's baseEval. */
  readonly evalAtStart?: boolean;
  /** Writes a resumable checkpoint of `state` and returns its folder. */
  readonly save: (state: S) => string;
  /** Checkpoint every N steps before the last (0: never). */
  readonly saveEvery: number;
  /** Stop after N evaluations in a row without improvement (0: never). */
  readonly patience: number;
  /** Adds the seconds a step or an evaluation took, for a state that keeps its own clock across resumes. */
  readonly spent?: (state: S, seconds: number) => S;
}

export interface LoopResult<S extends TrainState> {
  readonly state: S;
  /** Loss of the last step run by this process (NaN when none ran). */
  readonly lastLoss: number;
  /** The last held-out loss (on a resume without a new evaluation, the best one the checkpoint recorded). */
  readonly lastEval: number | null;
  readonly baseEval: number | null;
  readonly stoppedEarly: boolean;
  /** Tokens per second over the steps this process ran. */
  readonly tokensPerSecond: number;
}

export async function runLoop<S extends TrainState>(spec: LoopSpec<S>, hooks: LoopHooks = {}): Promise<LoopResult<S>> {
  const { totalSteps, metricsFile } = spec;
  let state = spec.state;
  startMetrics(metricsFile, state.step);
  const baseEval = spec.evaluate && spec.evalAtStart && state.step === 0 ? await spec.evaluate() : null;
  if (baseEval !== null) appendJsonl(metricsFile, { step: 0, eval_loss: baseEval });
  let lastLoss = NaN, lastEval = state.bestEvalLoss, stoppedEarly = false, tokensTimed = 0, msTimed = 0;
  while (state.step < totalSteps) {
    const ts = performance.now();
    const r = await spec.step(state);
    const ms = performance.now() - ts;
    tokensTimed += r.tokens; msTimed += ms;
    state = { ...r.state, step: r.state.step + 1, tokensSeen: r.state.tokensSeen + r.tokens };
    if (spec.spent) state = spec.spent(state, ms / 1000);
    lastLoss = r.loss;
    let row: StepMetrics = {
      step: state.step, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm, tokens_per_s: r.tokens / (ms / 1000), tokens: r.tokens, epoch: state.epoch,
    };
    if (spec.evaluate && ((spec.evalEvery > 0 && state.step % spec.evalEvery === 0) || state.step === totalSteps)) {
      const te = performance.now();
      const evalLoss = await spec.evaluate();
      state = recordEval(state, evalLoss);
      if (spec.spent) state = spec.spent(state, (performance.now() - te) / 1000);
      lastEval = evalLoss;
      row = { ...row, eval_loss: evalLoss };
      hooks.onEval?.(state.step, evalLoss);
    }
    appendJsonl(metricsFile, row);
    hooks.onStep?.(row, totalSteps);
    if (spec.saveEvery > 0 && state.step % spec.saveEvery === 0 && state.step < totalSteps) {
      const dir = spec.save(state);
      hooks.onCheckpoint?.(dir, state.step);
    }
    if (spec.patience > 0 && state.evalsWithoutImprovement >= spec.patience) { stoppedEarly = true; break; }
  }
  return { state, lastLoss, lastEval, baseEval, stoppedEarly, tokensPerSecond: msTimed > 0 ? tokensTimed / (msTimed / 1000) : 0 };
}

/** Early-stopping bookkeeping: the best held-out loss so far, and how many evaluations since it improved. */
function recordEval<S extends TrainState>(state: S, evalLoss: number): S {
  const improved = state.bestEvalLoss === null || evalLoss < state.bestEvalLoss - 1e-6;
  const evalsWithoutImprovement = improved ? 0 : state.evalsWithoutImprovement + 1;
  return { ...state, bestEvalLoss: improved ? evalLoss : state.bestEvalLoss, evalsWithoutImprovement };
}

/**
 * metrics.jsonl for a run starting at `fromStep`: empty for a fresh run (0); for a resumed one, the rows up to the
 * checkpoint's step, since the steps after it are about to run again. A row cut short by a kill does not parse and goes too.
 */
export function startMetrics(file: string, fromStep: number): void {
  if (fromStep === 0) { rmSync(file, { force: true }); return; }
  if (!existsSync(file)) return;
  const keep = readFileSync(file, 'utf8').split('\n').filter((line) => {
    try {
      const row = JSON.parse(line) as { step?: unknown };
      return typeof row.step === 'number' && row.step <= fromStep;
    } catch {
      return false;
    }
  });
  writeFileAtomic(file, keep.map((l) => l + '\n').join(''));
}
