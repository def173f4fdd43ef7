// Child process for the crash test: starts a run, logs a few steps, prints the run id, then waits to be killed.
import { Tracker } from '../../src/track/index.js';

const tracker = Tracker.open(process.argv[2]);
const run = tracker.startRun({ kind: 'train', name: 'doomed', config: { lr: 0.1 } });
for (let s = 0; s < 5; s++) run.logMetrics(s, { loss: 5 - s });
run.flush();
process.stdout.write(run.id + '\n');
setInterval(() => undefined, 1000);
