// Child process for the crash test: starts a run, logs a few steps, prints the run id, then waits to be killed.
// The store comes from LORAKIT_STORE (SQLite under the home, or the test's PostgreSQL schema).
import { Tracker } from '../../src/track/index.js';

const tracker = await Tracker.open(process.argv[2]);
const run = await tracker.startRun({ kind: 'train', name: 'doomed', config: { lr: 0.1 } });
for (let s = 0; s < 5; s++) run.logMetrics(s, { loss: 5 - s });
await run.flush();
process.stdout.write(run.id + '\n');
setInterval(() => undefined, 1000);
