// Starts a tracked run for a CLI verb (train, pretrain, eval, merge, registry export). Tracking failures never
// stop the work itself: they are reported once and the verb goes on (untracked if the store could not be opened).
import { Tracker, type RunHandle, type RunKind } from '../track/index.js';

/** `store`: the verb's --store, else $LORAKIT_STORE (the run goes where the verb's registry is). */
export async function startTracking(kind: RunKind, config: Record<string, unknown>, name?: string, store?: string): Promise<RunHandle | null> {
  let tracker: Tracker | undefined;
  try {
    tracker = await Tracker.open(undefined, { store });
    return quiet(await tracker.startRun({ kind, name, config }), tracker);
  } catch (e) {
    await tracker?.close().catch(() => undefined);
    process.stderr.write(`warning: experiment tracking is off for this run: ${(e as Error).message}\n`);
    return null;
  }
}

/** A .catch() handler: the run ends 'failed' with the error's message, and the error goes on. */
export const failRun = (run: RunHandle | null) => async (e: unknown): Promise<never> => {
  await run?.finish('failed', { error: (e as Error).message });
  throw e;
};

/** The run ends 'finished' with `summary`; a tracker that fails now costs a warning, not the verb's result. */
export async function finishRun(run: RunHandle | null, summary: Readonly<Record<string, unknown>>): Promise<void> {
  await run?.finish('finished', summary);
}

/** The run with its writes' failures turned into one warning; finish() never rejects and also closes the tracker. */
function quiet(run: RunHandle, tracker: Tracker): RunHandle {
  let warned = false;
  const warn = (e: unknown): void => {
    if (warned) return;
    warned = true;
    process.stderr.write(`warning: experiment tracking of run ${run.id} failed: ${(e as Error).message}\n`);
  };
  const guard = (f: () => void): void => { try { f(); } catch (e) { warn(e); } };
  return {
    id: run.id,
    logMetrics: (step, metrics) => guard(() => run.logMetrics(step, metrics)),
    logParams: (p) => guard(() => run.logParams(p)),
    logArtifact: (name, path, kind) => guard(() => run.logArtifact(name, path, kind)),
    setLineage: (patch) => guard(() => run.setLineage(patch)),
    flush: () => run.flush().catch(warn),
    finish: async (status, summary) => {
      await run.finish(status, summary).catch(warn);
      await tracker.close().catch(() => undefined);
    },
  };
}
