// Starts a tracked run for a CLI verb (train, eval, pretrain). Tracking failures never stop the work itself:
// they are reported once and the verb goes on (untracked if the store could not even be opened).
import { Tracker, type RunHandle } from '../track/index.js';

export async function startTracking(kind: string, config: Record<string, unknown>, name?: string): Promise<RunHandle | null> {
  let tracker: Tracker | undefined;
  try {
    tracker = await Tracker.open();
    return quiet(await tracker.startRun({ kind, name, config }), tracker);
  } catch (e) {
    await tracker?.close().catch(() => undefined);
    process.stderr.write(`warning: experiment tracking is off for this run: ${(e as Error).message}\n`);
    return null;
  }
}

/** The run with its writes' failures turned into one warning; finish() also closes the tracker. */
function quiet(run: RunHandle, tracker: Tracker): RunHandle {
  let warned = false;
  const warn = (e: unknown): void => {
    if (warned) return;
    warned = true;
    process.stderr.write(`warning: experiment tracking of run ${run.id} failed: ${(e as Error).message}\n`);
  };
  return {
    id: run.id,
    logMetrics: (step, metrics) => { try { run.logMetrics(step, metrics); } catch (e) { warn(e); } },
    logParams: (p) => { try { run.logParams(p); } catch (e) { warn(e); } },
    logArtifact: (name, path, kind) => { try { run.logArtifact(name, path, kind); } catch (e) { warn(e); } },
    setLineage: (patch) => { try { run.setLineage(patch); } catch (e) { warn(e); } },
    flush: () => run.flush().catch(warn),
    finish: async (status, summary) => {
      await run.finish(status, summary).catch(warn);
      await tracker.close().catch(() => undefined);
    },
  };
}
