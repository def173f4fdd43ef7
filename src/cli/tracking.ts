// Starts a tracked run for a CLI verb (train, eval, pretrain). Tracking failures never stop the work itself:
// they are reported once and the verb goes on untracked.
import { Tracker, type RunHandle } from '../track/index.js';

export function startTracking(kind: string, config: Record<string, unknown>, name?: string): RunHandle | null {
  try {
    const tracker = Tracker.open();
    return tracker.startRun({ kind, name, config });
  } catch (e) {
    process.stderr.write(`warning: experiment tracking is off for this run: ${(e as Error).message}\n`);
    return null;
  }
}
