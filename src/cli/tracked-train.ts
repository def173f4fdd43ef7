// LoRA training as the CLI shows it: the progress bar and the experiment tracker fed from the same step hook, the run's
// lineage set at the start, and the tracked run finished (or failed) with the result. `lorakit train` and the
// quickstart both train through here, so that a step reaches the bar and the tracker in one way only.
import type { RunHandle } from '../track/index.js';
import type { TrainConfig } from '../train/config.js';
import type { TrainOptions, TrainResult, TrainStartInfo } from '../train/trainer.js';
import type { Progress } from '../util/progress.js';
import type { CommandIO } from './command.js';

export interface TrackedTrainOptions extends TrainOptions {
  /** Lines shown when training starts, before the bar. */
  readonly describe?: (i: TrainStartInfo) => void;
  /** Show the learning rate beside the bar. */
  readonly showLr?: boolean;
}

/** Trains with a bar on `io` and the metrics in `run` (null: untracked). */
export async function trainTracked(
  cfg: TrainConfig, io: CommandIO, run: RunHandle | null, o: TrackedTrainOptions = {},
): Promise<TrainResult> {
  const { trainAdapter } = await import('../train/trainer.js');
  const { describe, showLr, ...options } = o;
  let bar: Progress | null = null;
  try {
    const result = await trainAdapter(cfg, {
      onStart(i) {
        describe?.(i);
        run?.setLineage({ baseFingerprint: i.baseFingerprint, datasetFingerprint: i.datasetFingerprint });
        bar = io.progress({ total: i.totalSteps, label: 'train', unit: 'step' });
      },
      onStep(m) {
        const ev = m.eval_loss;
        const tracked = { loss: m.loss, lr: m.lr, grad_norm: m.grad_norm, tokens_per_s: m.tokens_per_s };
        run?.logMetrics(m.step, ev === undefined ? tracked : { ...tracked, eval_loss: ev });
        const shown = { loss: m.loss, ...(showLr ? { lr: m.lr } : {}), 'tok/s': Math.round(m.tokens_per_s) };
        bar?.tick(m.step, ev === undefined ? shown : { ...shown, eval: ev });
      },
    }, options);
    if (result.resume === 'already-complete') {
      await run?.finish('finished', { steps: result.steps, already_complete: 1 });
      return result;
    }
    (bar as Progress | null)?.finish({ loss: result.trainLoss });
    run?.logArtifact('adapter', result.adapterDir, 'adapter');
    const { trainLoss: train_loss, evalLoss: eval_loss, baseEvalLoss: base_eval_loss, steps, tokensPerSecond: tokens_per_s } = result;
    await run?.finish('finished', { train_loss, eval_loss, base_eval_loss, steps, tokens_per_s });
    return result;
  } catch (e) {
    await run?.finish('failed', { error: (e as Error).message });
    throw e;
  }
}
