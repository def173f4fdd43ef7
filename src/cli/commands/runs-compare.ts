// `lorakit runs compare ID ID ...`: configs and final metrics side by side, differing rows marked.
import { LorakitError } from '../../errors.js';
import { defineCommand } from '../command.js';
import { storeFlag } from './registry-common.js';

export interface RunsCompareFlags { onlyDiffs: boolean; store: string | undefined; json: boolean }
export const runsCompare = defineCommand<RunsCompareFlags>({
  name: 'runs compare',
  summary: "Compare runs side by side: config and final metrics, differences marked '*' (bold on a terminal)",
  positionals: '<id> <id> [id...]',
  example: 'lorakit runs compare 20261129-0503 20261129-0611',
  flags: {
    onlyDiffs: { help: 'Show only the rows that differ', default: false },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io, positionals) {
    if (positionals.length < 2) {
      throw new LorakitError('LK_ARG', `runs compare: expected at least two run ids, got ${positionals.length}`, {
        hint: "see 'lorakit runs list'",
      });
    }
    const { Tracker, compareRuns, formatCompare } = await import('../../track/index.js');
    const t = await Tracker.open(undefined, { store: flags.store });
    try {
      const runs = [];
      for (const id of positionals) runs.push(await t.getRun(id));
      const finals = await t.finalMetricsOf(runs.map((r) => r.id));
      const table = compareRuns(runs, runs.map((r) => finals.get(r.id) ?? {}));
      const ansi = Boolean((io.stdout as NodeJS.WriteStream).isTTY) && !process.env.NO_COLOR;
      io.log(formatCompare(table, { ansi, onlyDiffs: flags.onlyDiffs }));
      io.done(table);
    } finally { await t.close(); }
  },
});
