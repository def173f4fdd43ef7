// Starts a tracked run for a CLI verb (train, pretrain, eval, merge, registry export). Tracking failures never
// stop the work itself: they are reported once and the verb goes on untracked.
import { Tracker, type RunHandle, type RunKind } from '../track/index.js';

export function startTracking(kind: RunKind, config: Record<string, unknown>, name?: string): RunHandle | null {
  try {
    const tracker = Tracker.open();
    return tracker.startRun({ kind, name, config });
  } catch (e) {
    process.stderr.write(`warning: experiment tracking is off for this run: ${(e as Error).message}\n`);
    return null;
  }
}

/** A .catch() handler: the run ends 'failed' with the error's message, and the error goes on. */
export const failRun = (run: RunHandle | null) => (e: unknown): never => {
  quietly(() => run?.finish('failed', { error: (e as Error).message }));
  throw e;
};

/** The run ends 'finished' with `summary`; a tracker that fails now costs a warning, not the verb's result. */
export function finishRun(run: RunHandle | null, summary: Readonly<Record<string, unknown>>): void {
  quietly(() => run?.finish('finished', summary));
}

function quietly(f: () => void): void {
  try { f(); } catch (e) { process.stderr.write(`warning: the tracked run could not be closed: ${(e as Error).message}\n`); }
}
