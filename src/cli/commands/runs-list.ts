// `lorakit runs list`: tracked runs, newest first, with their final loss/eval_loss.
import { defineCommand } from '../command.js';
import { oneOf, positiveInt } from '../parse.js';
import { fmtTime, storeFlag, table } from './registry-common.js';
import { RUN_KINDS, type RunKind } from '../../track/types.js';

type StatusFlag = 'running' | 'finished' | 'failed' | 'killed';
export interface RunsListFlags { kind: RunKind | undefined; status: StatusFlag | undefined; limit: number; store: string | undefined; json: boolean }
export const runsList = defineCommand<RunsListFlags>({
  name: 'runs list',
  summary: 'List tracked runs (train, pretrain, eval, merge, export) newest first',
  example: 'lorakit runs list --kind train --limit 20',
  flags: {
    kind: { arg: '<kind>', help: `Only runs of this kind (${RUN_KINDS.join(', ')})`, parse: oneOf(RUN_KINDS) },
    status: { arg: '<status>', help: 'Only runs with this status', parse: oneOf<StatusFlag>(['running', 'finished', 'failed', 'killed']) },
    limit: { arg: '<n>', help: 'At most this many runs', default: 50, parse: positiveInt },
    store: storeFlag, json: { help: 'JSON output', default: false },
  },
  async run(flags, io) {
    const { Tracker } = await import('../../track/index.js');
    const t = await Tracker.open(undefined, { store: flags.store });
    try {
      const list = await t.listRuns({ kind: flags.kind, status: flags.status, limit: flags.limit });
      const finals = await t.finalMetricsOf(list.map((r) => r.id));
      const runs = list.map((r) => ({ ...r, final: finals.get(r.id) ?? {} }));
      const f = (v: number | undefined): string => (v === undefined ? '' : String(Number(v.toPrecision(4))));
      io.log(table(['id', 'kind', 'name', 'status', 'started', 'loss', 'eval_loss', 'adapter'],
        runs.map((r) => [r.id, r.kind, r.name ?? '', r.status, fmtTime(r.startedAt), f(r.final.loss),
          f(r.final.eval_loss), r.lineage.adapterVersion ?? ''])));
      if (t.recovered.length) io.log(`(marked ${t.recovered.length} crashed run(s) as killed: ${t.recovered.join(', ')})`);
      io.done({ runs }, `${runs.length} run(s)`);
    } finally { await t.close(); }
  },
});
